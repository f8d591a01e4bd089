"""setdyn: the SET task, the paper's CT-RNN, its training and the analysis of its phase code."""
__version__ = "0.1.0"
