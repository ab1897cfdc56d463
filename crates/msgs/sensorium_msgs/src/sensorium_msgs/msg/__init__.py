from ._Scene import *
