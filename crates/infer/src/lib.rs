//! sensorium-infer: Model manifests and inference through tract: loading, preprocessing, parity with goldens.
