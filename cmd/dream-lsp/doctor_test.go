package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cpu"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda"
)

func TestChooseBackend(t *testing.T) {
	usable := cuda.Report{Usable: true, Devices: []cuda.Device{{Name: "NVIDIA H200"}}}
	broken := cuda.Report{Reason: "libcuda not loadable"}
	for _, c := range []struct {
		device  string
		r       cuda.Report
		backend string
		why     string
	}{
		{"auto", usable, "cuda", "NVIDIA H200"},
		{"auto", broken, "cpu", "libcuda not loadable"},
		{"cuda", usable, "cuda", "usable GPU"},
		{"cuda", broken, "cpu", "falls back to the CPU"},
		{"cpu", usable, "cpu", "device setting is cpu"},
	} {
		b, why := chooseBackend(c.device, c.r)
		if b != c.backend || !strings.Contains(why, c.why) {
			t.Errorf("chooseBackend(%s, usable=%v) = %s, %q; want %s and a reason containing %q", c.device, c.r.Usable, b, why, c.backend, c.why)
		}
	}
}

func TestDoctorJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainExit([]string{"doctor", "--json", "--device", "cpu"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep doctorReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("doctor --json is not one JSON document: %v\n%s", err, out.String())
	}
	if rep.Backend != "cpu" || rep.Device != "cpu" || len(rep.CUDA.Libraries) != 3 {
		t.Errorf("report = %+v", rep)
	}
	if !rep.CUDA.Usable && rep.CUDA.Reason == "" {
		t.Error("no reason given for an unusable GPU")
	}
	if rep.CPUKernels != cpu.Kernels() || rep.BF16Matmul != cpu.AMXAvailable() {
		t.Errorf("cpu_kernels %q, bf16_matmul %v; the backend says %q, %v", rep.CPUKernels, rep.BF16Matmul, cpu.Kernels(), cpu.AMXAvailable())
	}
}

func TestDoctorText(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainExit([]string{"doctor"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"system:", "cpu:", "--matmul bf16", "libcuda:", "libnvrtc:", "libcublasLt:", "backend:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDoctorUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainExit([]string{"doctor", "--device", "tpu"}, &out, &errb); code != 2 {
		t.Errorf("--device tpu: exit %d, want 2 (usage)", code)
	}
	if code := mainExit([]string{"doctor", "extra"}, &out, &errb); code != 2 {
		t.Errorf("extra argument: exit %d, want 2 (usage)", code)
	}
}
