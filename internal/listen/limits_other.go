//go:build !unix

package listen

// openFilesLimit: no such limit to read here; 2048 makes the default
// bound 1024.
func openFilesLimit() int { return 2048 }
