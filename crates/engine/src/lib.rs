//! sensorium-engine: The real-time engine: ring buffers, synchronization policies, stage threads, deadlines, counters.
