package daemon

// SetHook makes tests see every committed state change (kill -9 tests stop
// the process at one of them).
func SetHook(o *Options, f func(event string)) { o.hook = f }
