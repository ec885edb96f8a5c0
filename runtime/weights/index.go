package weights

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dream-lsp/dream-lsp/internal/safeio"
)

// Index is a parsed model.safetensors.index.json: which shard holds each
// tensor, and the total_size its writer recorded.
type Index struct {
	TotalSize int64             // metadata.total_size (0 when absent)
	WeightMap map[string]string // tensor name -> shard file name
}

type rawIndex struct {
	Metadata  map[string]json.RawMessage `json:"metadata"`
	WeightMap map[string]string          `json:"weight_map"`
}

// ReadIndex reads dir/model.safetensors.index.json without opening any
// shard (dir is resolved as Open does).
func ReadIndex(dir string) (*Index, error) {
	p := filepath.Join(ResolveDir(dir), IndexFile)
	data, err := safeio.ReadFile(p, safeio.MaxIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("weights: read index: %w", err)
	}
	return ParseIndex(p, data)
}

// ReadIndexFS reads model.safetensors.index.json at the root of fsys.
func ReadIndexFS(fsys fs.FS) (*Index, error) {
	data, err := safeio.ReadFS(fsys, IndexFile, safeio.MaxIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("weights: read index: %w", err)
	}
	return ParseIndex(IndexFile, data)
}

// ParseIndex parses the text of an index file; file names it in errors.
// Shard names must be plain file names in the same directory.
func ParseIndex(file string, data []byte) (*Index, error) {
	var raw rawIndex
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, corruptWrap(file, "", err, "invalid index JSON")
	}
	if len(raw.WeightMap) == 0 {
		return nil, corrupt(file, "", "index has no weight_map entries")
	}
	ix := &Index{WeightMap: raw.WeightMap}
	if ts, ok := raw.Metadata["total_size"]; ok {
		s := strings.TrimSpace(string(ts))
		if s != "null" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				// Some writers store it as a float.
				f, ferr := strconv.ParseFloat(s, 64)
				if ferr != nil || f < 0 || f > 1<<62 || f != float64(int64(f)) {
					return nil, corrupt(file, "", "metadata.total_size %s is not a byte count", s)
				}
				v = int64(f)
			}
			if v < 0 {
				return nil, corrupt(file, "", "metadata.total_size %d is negative", v)
			}
			ix.TotalSize = v
		}
	}
	for name, shard := range raw.WeightMap {
		if name == "" {
			return nil, corrupt(file, "", "weight_map has an empty tensor name")
		}
		if !validShardName(shard) {
			return nil, corrupt(file, name, "shard name %q is not a file name in the checkpoint directory", shard)
		}
	}
	return ix, nil
}

func validShardName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`) &&
		path.Base(s) == s && fs.ValidPath(s)
}

// Shards returns the distinct shard file names, sorted.
func (ix *Index) Shards() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ix.WeightMap {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Names returns the tensor names, sorted.
func (ix *Index) Names() []string {
	out := make([]string, 0, len(ix.WeightMap))
	for n := range ix.WeightMap {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
