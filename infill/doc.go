// Package infill turns a cursor in a document into fill-in-the-middle
// completions: it builds canvases prefix + [mask]*n + suffix for a diffusion
// model, chooses the middle's length, post-processes and validates the
// candidates by splicing them into the document and re-parsing, and ranks
// them by model confidence and syntax validity.
package infill
