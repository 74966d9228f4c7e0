"""The test suite's shared set-up: tracertools' pytest fixtures (LocalCave, LocalSheets), opted in."""

pytest_plugins = ["tracertools.testing.pytest_plugin"]
