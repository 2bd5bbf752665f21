"""Errors raised by the local launcher.

    LauncherError                 base of every error the launcher raises on purpose
    +-- InstallError              installing a missing server program failed
    +-- StartupError              a process did not start or did not respond in time
    |   +-- PortInUseError        another process already listens on a required port
    +-- StartupCancelledError     a start was abandoned because another one failed
    +-- StopError                 a process is still running after SIGKILL
    +-- DemoLoadError             the demo content loader failed

``retriable`` says whether running the same command again can succeed without
changing anything first.
"""


class LauncherError(Exception):
    retriable = False


class InstallError(LauncherError):
    # Downloads can fail on a flaky network and then succeed on the next run.
    retriable = True


class StartupError(LauncherError):
    pass


class PortInUseError(StartupError):
    pass


class StartupCancelledError(LauncherError):
    retriable = True


class StopError(LauncherError):
    pass


class DemoLoadError(LauncherError):
    pass
