"""The autograd engine, read first: Tensor, Function, backward, the ops, the recording state."""
