package engine

// InstallPython installs the engine's Python package under a directory and
// returns its root, for tests that import its modules.
var InstallPython = installPython

// AbortChildrenAfter arms the engine tests' watchdog (watchdog_test.go).
var AbortChildrenAfter = abortChildrenAfter
