package engine

// TrainSource is the training script as written to disk, for tests that
// call its functions.
var TrainSource = trainSource

// AbortChildrenAfter arms the engine tests' watchdog (watchdog_test.go).
var AbortChildrenAfter = abortChildrenAfter
