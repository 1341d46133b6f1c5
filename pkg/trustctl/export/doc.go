// Package export writes a trust bundle to a directory as the three files
// Dapr's tools use: ca.crt (the roots, 0644), issuer.crt (the issuer chain,
// 0644) and, only when asked, issuer.key (0600).
//
//	files, err := export.Write(dir, b, export.Options{IncludeKey: false})
//	if errors.Is(err, export.ErrExists) { ... } // use Force to overwrite
//
// Unlike Dapr's CLI, the issuer key is not written by default (it is the
// CA: whoever holds it can issue any identity), and existing files are not
// overwritten unless Force is set. Nothing is written when any target file
// exists, so a refused export leaves the directory as it was. Files are
// written to a temporary name first and renamed into place.
package export
