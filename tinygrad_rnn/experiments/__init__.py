"""The classic experiments: the tasks (data and each paper's criterion) and the training loop."""
