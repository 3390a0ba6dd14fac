#include "textflag.h"

// entry is the binary's entry point when it is linked with
// -E github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint.entry (make build does):
// before the runtime starts, it maps the binary's .data and .bss writable
// and its code and read-only data (the latter only when the page cache
// holds nine pages in ten of it), then goes on to Go's own entry point. It
// runs on the process's first stack, with no runtime: system calls only,
// and nothing on the stack. See the package doc.
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	// madvise([data, ebss), MADV_POPULATE_WRITE)
	LEAQ	runtime·data(SB), DI
	ANDQ	$-4096, DI
	LEAQ	runtime·ebss(SB), SI
	ADDQ	$4095, SI
	ANDQ	$-4096, SI
	SUBQ	DI, SI
	MOVQ	$23, DX
	MOVQ	$28, AX
	SYSCALL
	CMPQ	AX, $0
	JNE	image
	MOVB	$1, ·dataMapped(SB)

image:
	// [R12, R13): the code and read-only data, up to the writable segment
	LEAQ	runtime·text(SB), R12
	ANDQ	$-4096, R12
	LEAQ	runtime·noptrdata(SB), R13
	ANDQ	$-4096, R13
	XORQ	R14, R14 // pages in the page cache
	MOVQ	R12, R15 // start of the next mincore chunk

chunk:
	CMPQ	R15, R13
	JAE	counted
	MOVQ	R13, SI
	SUBQ	R15, SI
	CMPQ	SI, $(4096*4096)
	JBE	2(PC)
	MOVQ	$(4096*4096), SI
	MOVQ	SI, R10 // chunk length (SYSCALL keeps all but AX, CX and R11)
	MOVQ	R15, DI
	LEAQ	·vec(SB), DX
	MOVQ	$27, AX // mincore
	SYSCALL
	CMPQ	AX, $0
	JNE	done
	MOVQ	R10, CX
	SHRQ	$12, CX
	LEAQ	·vec(SB), BX

count:
	MOVBQZX	(BX), AX
	ANDQ	$1, AX
	ADDQ	AX, R14
	INCQ	BX
	DECQ	CX
	JNZ	count
	ADDQ	R10, R15
	JMP	chunk

counted:
	// populate when cached*10 >= pages*9
	MOVQ	R13, AX
	SUBQ	R12, AX
	SHRQ	$12, AX
	MOVQ	AX, ·imagePages(SB)
	MOVQ	R14, ·cachedPages(SB)
	IMULQ	$9, AX
	IMULQ	$10, R14
	CMPQ	R14, AX
	JB	done
	MOVQ	R12, DI
	MOVQ	R13, SI
	SUBQ	R12, SI
	MOVQ	$22, DX // MADV_POPULATE_READ
	MOVQ	$28, AX
	SYSCALL
	CMPQ	AX, $0
	JNE	done
	MOVB	$1, ·imageMapped(SB)

done:
	JMP	_rt0_amd64_linux(SB)
