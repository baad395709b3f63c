# Every pytest suite of the repository shares the test kit's fixtures and reporting
# (tests/pylib/bsocial_testkit/pytest_plugin.py; pytest.ini puts tests/pylib on the path).
pytest_plugins = ["bsocial_testkit.pytest_plugin"]
