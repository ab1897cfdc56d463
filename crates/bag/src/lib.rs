//! sensorium-bag: ROS1 bag v2.0 reading (none/bz2/lz4, index, seek by time, damaged bags) and writing.
