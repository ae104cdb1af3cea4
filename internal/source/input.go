package source

import (
	"io"
	"os"
)

// Input is one input to read: a file, opened only when its turn comes and
// closed as soon as it is read, so that any number of inputs hold one file
// descriptor at a time; or a stream such as standard input.
type Input struct {
	// Name is how items and messages refer to the input.
	Name string
	// Open opens it; Read closes what it returns.
	Open func() (io.ReadCloser, error)
}

// File is the input of the file at path.
func File(path string) Input {
	return Input{Name: path, Open: func() (io.ReadCloser, error) { return Open(path) }}
}

// Stream is an input already open, such as standard input; Read does not
// close it.
func Stream(name string, r io.Reader) Input {
	return Input{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(r), nil }}
}

// Open opens a file for reading; its error is a *FileError.
func Open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	return f, nil
}

// Read opens the input, reads it as Read does, and closes it.
func (in Input) Read(opts Options, fn func(Item) error) (Stats, error) {
	rc, err := in.Open()
	if err != nil {
		return Stats{}, err
	}
	defer rc.Close()
	return Read(in.Name, rc, opts, fn)
}
