package prefault

const (
	sysRead    = 0
	sysPread64 = 17
	sysClose   = 3
	sysMincore = 27
	sysMadvise = 28
	sysOpenat  = 257
)
