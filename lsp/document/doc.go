// Package document holds the server's view of open text documents:
// immutable snapshots, incremental edits and the Mapper that converts LSP
// positions to byte offsets.
//
// Positions on the wire count columns in the negotiated encoding (UTF-16
// code units by default, bytes for UTF-8, code points for UTF-32). Inside the
// server every offset is a byte offset into the UTF-8 text, and only the
// Mapper converts between the two. Text that is not valid UTF-8 never
// panics: each invalid byte counts as one column in every encoding, as the
// U+FFFD the client would see in its place.
//
// Lines end at "\n", "\r\n" or "\r", as LSP defines them. A position whose
// line is past the last line, or whose column falls inside a character
// (between the two halves of a UTF-16 surrogate pair, or inside a UTF-8
// sequence), is invalid (ErrInvalidPosition). A column past the end of its
// line is clamped to the end of the line, as the LSP specification says.
//
// A Document is never modified after it is made: Apply returns a new one,
// so a request that took a snapshot can read it while later edits arrive.
package document
