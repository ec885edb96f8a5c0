package lsp

import "testing"

func TestBackoff(t *testing.T) {
	// Each step: what happened before an automatic request missed the cache,
	// and the debounce multiplier that request gets.
	type step struct {
		offered bool       // the previous automatic answer offered a suggestion
		acc     Acceptance // counters at the miss
		want    int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"five ignored double, then doubling up to the cap", []step{
			{false, Acceptance{}, 1},
			{true, Acceptance{}, 1}, // 1 ignored
			{true, Acceptance{}, 1},
			{true, Acceptance{}, 1},
			{true, Acceptance{}, 1}, // 4
			{true, Acceptance{}, 2}, // 5
			{true, Acceptance{}, 4},
			{true, Acceptance{}, 8},
			{true, Acceptance{}, 8}, // capped
		}},
		{"an acceptance resets", []step{
			{true, Acceptance{}, 1}, {true, Acceptance{}, 1}, {true, Acceptance{}, 1}, {true, Acceptance{}, 1},
			{true, Acceptance{}, 2},
			{true, Acceptance{Accepted: 1}, 1},
			{true, Acceptance{Accepted: 1}, 1}, // 1 ignored since
		}},
		{"a partial acceptance resets", []step{
			{true, Acceptance{}, 1}, {true, Acceptance{}, 1}, {true, Acceptance{}, 1}, {true, Acceptance{}, 1},
			{true, Acceptance{}, 2},
			{true, Acceptance{PartiallyAccepted: 1}, 1},
		}},
		{"answers without a suggestion are not ignored suggestions", []step{
			{false, Acceptance{}, 1}, {false, Acceptance{}, 1}, {false, Acceptance{}, 1}, {false, Acceptance{}, 1},
			{false, Acceptance{}, 1}, {false, Acceptance{}, 1}, {false, Acceptance{}, 1},
		}},
		{"a client reporting shows: only shown suggestions count", []step{
			{true, Acceptance{Shown: 1}, 1}, // shown, ignored: 1
			{true, Acceptance{Shown: 1}, 1}, // not shown (answer came too late): not counted
			{true, Acceptance{Shown: 2}, 1}, // 2
			{true, Acceptance{Shown: 3}, 1},
			{true, Acceptance{Shown: 4}, 1},
			{true, Acceptance{Shown: 5}, 2}, // 5
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b backoff
			for i, s := range tt.steps {
				b.answered(s.offered)
				if got := b.miss(s.acc); got != s.want {
					t.Fatalf("step %d: multiplier %d, want %d", i, got, s.want)
				}
			}
		})
	}
}

func TestCompletionCaps(t *testing.T) {
	tests := []struct {
		name                   string
		params                 string
		wantInline, wantSnippy bool
	}{
		{"none", `{"capabilities":{}}`, false, false},
		{"inline", `{"capabilities":{"textDocument":{"inlineCompletion":{"dynamicRegistration":false}}}}`, true, false},
		{"inline null", `{"capabilities":{"textDocument":{"inlineCompletion":null}}}`, false, false},
		{"snippets", `{"capabilities":{"textDocument":{"completion":{"completionItem":{"snippetSupport":true}}}}}`, false, true},
		{"both", `{"capabilities":{"textDocument":{"inlineCompletion":{},"completion":{"completionItem":{"snippetSupport":true}}}}}`, true, true},
		{"snippetSupport of the wrong type", `{"capabilities":{"textDocument":{"inlineCompletion":{},"completion":{"completionItem":{"snippetSupport":"yes"}}}}}`, true, false},
		{"textDocument not an object", `{"capabilities":{"textDocument":7}}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inline, snippets := completionCaps([]byte(tt.params))
			if inline != tt.wantInline || snippets != tt.wantSnippy {
				t.Errorf("completionCaps = %v, %v; want %v, %v", inline, snippets, tt.wantInline, tt.wantSnippy)
			}
		})
	}
}
