package kubernetes

// SetWatching makes Watch call f once its informers have synced.
func SetWatching(s *Store, f func()) { s.watching = f }

// DiffRoots says how the ConfigMap's roots differ from the Secret's, and
// whether they are the same set.
func DiffRoots(cmPEM, secretPEM []byte) (string, bool) {
	d := diffRoots(cmPEM, secretPEM)
	return d.String(), d.same()
}
