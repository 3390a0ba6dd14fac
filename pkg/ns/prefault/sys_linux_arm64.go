package prefault

const (
	sysOpenat  = 56
	sysPread64 = 67
	sysClose   = 57
	sysRead    = 63
	sysMincore = 232
	sysMadvise = 233
)
