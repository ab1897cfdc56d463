//! sensorium-msgs: ROS1 wire decode/encode of the sensor messages sensorium uses (Image, CompressedImage, CameraInfo, PointCloud2, String, TFMessage).
