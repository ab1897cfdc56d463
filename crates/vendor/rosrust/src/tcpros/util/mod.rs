pub mod streamfork;
pub mod tcpconnection;
