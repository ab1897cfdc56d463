"""sensorium's training recipe: the four reference encoders (models/), trained on simulator exports.

Modules:
  train             the entry point: `python -m sensorium_recipe.train --data DATA [--quick] ...`
  plan              the training plan and the recipe's constants
  classes           the class list, read from the fusion model's manifest (models/fusion/manifest.toml)
  preprocess        MODEL_SPEC's preprocessing in numpy (the twin of the Rust runtime's)
  captions          structured attributes of the simulator's captions (an auxiliary loss)
  data              simulator exports, frames, the tokenizer, the packed training set and its batches
  nets              the encoders: JAX forward passes and the ONNX graphs built from the same parameters
  training          JAX training: the losses, text pretraining, teacher and distilled students
  export            ONNX export, its check against JAX, int8 quantization
  manifests         manifest.toml and goldens of the model folders
  pipeline          the runtime's data path with onnxruntime sessions
  scorer            MODEL_SPEC's metrics of a pipeline over frames
  rosbag_frames     sensorium's inputs read out of a ROS1 bag
  evaluate_bag      the scorer on a recorded bag: `python -m sensorium_recipe.evaluate_bag BAG ...`
  evaluate_heldout  the scorer on more held-out simulator seeds: `python -m sensorium_recipe.evaluate_heldout ...`

Training needs requirements.txt (JAX, optax, onnx, onnxruntime, tokenizers, OpenCV); the evaluation modules
only numpy, OpenCV, onnxruntime, tokenizers (and Debian's rosbag for a bag). Install it editable
(`pip install --no-deps -e models/recipes`): the recipe reads and writes in the repository (models/).
"""
