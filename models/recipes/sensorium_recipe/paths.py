"""Where the recipe reads and writes in the repository (the package is installed editable, so its files
stay in models/recipes/sensorium_recipe/)."""
from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
RECIPE_DIR = os.path.dirname(PACKAGE_DIR)  # models/recipes: metrics.json, out-quick/, .teacher/
MODELS_DIR = os.path.dirname(RECIPE_DIR)  # models/: the shipped model folders
REPO_ROOT = os.path.dirname(MODELS_DIR)
