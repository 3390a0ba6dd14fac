package container

// SetAfterFreeze makes Commit call fn while it holds a running container
// frozen.
func SetAfterFreeze(fn func()) { afterFreeze = fn }
