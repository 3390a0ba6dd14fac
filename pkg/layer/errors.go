package layer

import "errors"

// Error categories shared by every kind of object in a store (layer, image,
// container). Each kind has its own sentinels, which match their category
// through errors.Is, so a caller can ask "is this a missing image?" or only
// "is anything missing?".
var (
	ErrAnyNotFound = errors.New("not found")
	ErrAnyExists   = errors.New("already exists")
	ErrAnyInUse    = errors.New("in use")
)

// The layer store's own sentinels.
var (
	ErrNotFound = KindError(ErrAnyNotFound)
	ErrExists   = KindError(ErrAnyExists)
	ErrInUse    = KindError(ErrAnyInUse)
	ErrCorrupt  = errors.New("corrupt")
)

// kindError is a sentinel of one kind that reads as its category and
// matches it with errors.Is.
type kindError struct{ category error }

func (e *kindError) Error() string        { return e.category.Error() }
func (e *kindError) Is(target error) bool { return target == e.category }

// KindError makes a new sentinel for one kind of object in the category
// (ErrAnyNotFound, ErrAnyExists, ErrAnyInUse), with the category's message.
func KindError(category error) error { return &kindError{category: category} }
