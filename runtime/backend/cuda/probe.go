package cuda

import (
	"fmt"
	"runtime"

	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cu"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/cublaslt"
	"github.com/dream-lsp/dream-lsp/runtime/backend/cuda/internal/nvrtc"
)

// Report is what Probe found: the libraries, the driver, the GPUs and
// whether Open can be expected to succeed (and if not, why).
type Report struct {
	Libraries       []LibraryStatus `json:"libraries"`
	DriverVersion   string          `json:"driver_version,omitempty"`   // CUDA version the driver supports, "13.0"
	NVRTCVersion    string          `json:"nvrtc_version,omitempty"`    // "13.0"
	NVRTCArchs      []int           `json:"nvrtc_archs,omitempty"`      // SM versions NVRTC can target
	CublasLtVersion int             `json:"cublaslt_version,omitempty"` // cublasLtGetVersion()
	Devices         []Device        `json:"devices,omitempty"`
	Usable          bool            `json:"usable"`
	Reason          string          `json:"reason,omitempty"` // why not usable
}

// Probe looks for the libraries and GPUs without creating a context or
// compiling kernels. It never fails: problems are reported in the result.
func Probe() Report {
	return probe(defaultEnv())
}

func probe(env searchEnv) Report {
	libs, lr := loadLibraries(env)
	defer libs.close()
	r := Report{Libraries: lr.libs}
	fail := func(format string, args ...any) Report {
		if r.Reason == "" {
			r.Reason = fmt.Sprintf(format, args...)
		}
		r.Usable = false
		return r
	}
	if libs.nvrtc != nil {
		if nv, err := nvrtc.Load(libs.nvrtc); err == nil {
			if a, b, err := nv.Version(); err == nil {
				r.NVRTCVersion = fmt.Sprintf("%d.%d", a, b)
			}
			r.NVRTCArchs, _ = nv.SupportedArchs()
		} else {
			markBroken(&r, "libnvrtc", err)
		}
	}
	if libs.cublasLt != nil {
		if lt, err := cublaslt.Load(libs.cublasLt); err == nil {
			r.CublasLtVersion = lt.Version()
		} else {
			markBroken(&r, "libcublasLt", err)
		}
	}
	if libs.cuda == nil {
		return fail("%s", lr.libraryReason("libcuda"))
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	drv, err := cu.Load(libs.cuda)
	if err != nil {
		return fail("%v", err)
	}
	if err := drv.Init(); err != nil {
		return fail("initialise the CUDA driver: %v", err)
	}
	if v, err := drv.DriverVersion(); err == nil {
		r.DriverVersion = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	n, err := drv.DeviceCount()
	if err != nil {
		return fail("count GPUs: %v", err)
	}
	for i := 0; i < n; i++ {
		dev, err := drv.DeviceGet(i)
		if err != nil {
			return fail("open GPU %d: %v", i, err)
		}
		d, err := describe(drv, dev, i)
		if err != nil {
			return fail("query GPU %d: %v", i, err)
		}
		r.Devices = append(r.Devices, d)
	}
	switch {
	case n == 0:
		return fail("the driver reports no GPU")
	case r.Devices[0].ComputeMajor < 8:
		return fail("GPU 0 (%s) has compute capability %d.%d; the kernels need 8.0 or newer", r.Devices[0].Name, r.Devices[0].ComputeMajor, r.Devices[0].ComputeMinor)
	case libs.nvrtc == nil:
		return fail("%s", lr.libraryReason("libnvrtc"))
	case libs.cublasLt == nil:
		return fail("%s", lr.libraryReason("libcublasLt"))
	case r.NVRTCVersion == "":
		return fail("libnvrtc loaded but unusable")
	case r.CublasLtVersion == 0:
		return fail("libcublasLt loaded but unusable")
	}
	if len(r.NVRTCArchs) > 0 {
		want := r.Devices[0].ComputeMajor*10 + r.Devices[0].ComputeMinor
		ok := false
		for _, a := range r.NVRTCArchs {
			ok = ok || a == want
		}
		if !ok {
			return fail("NVRTC %s cannot generate code for %s (supports %v)", r.NVRTCVersion, r.Devices[0].Arch(), r.NVRTCArchs)
		}
	}
	r.Usable = true
	return r
}

func markBroken(r *Report, name string, err error) {
	for i := range r.Libraries {
		if r.Libraries[i].Name == name {
			r.Libraries[i].Error = err.Error()
		}
	}
}
