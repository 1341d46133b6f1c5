package file

// SetWatching makes Watch call f once it watches every directory.
func SetWatching(s *Store, f func()) { s.watching = f }
