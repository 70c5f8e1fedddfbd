import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.model_fixtures", "tests.labelstudio_fixtures"]


def pytest_configure(config):
    # The test models are tiny: one thread avoids thread start-up and contention costs on a 2-core machine.
    import torch

    torch.set_num_threads(1)
