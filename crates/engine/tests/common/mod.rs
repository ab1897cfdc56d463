pub mod arrivals;
