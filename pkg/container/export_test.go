package container

// SetAfterFreeze makes Commit call fn while it holds a running container
// frozen.
func SetAfterFreeze(fn func()) { afterFreeze = fn }

// MonitorReport reads a detached monitor's report line.
var MonitorReport = monitorReport

// CopyPlan is cp's rule of where a source lands.
var CopyPlan = copyPlan
