// Package deploy checks the Kubernetes manifests in k8s/ against the Kubernetes API types
// (k8s.io/api from the Go module proxy): every document decodes strictly (an unknown or misspelt
// field is an error) into the type its apiVersion and kind name, and the pieces agree with each
// other and with dream-lsp api (probe path, ports, GPU request, flags, the autoscaling metric).
// It is a module of its own so the server's module does not depend on k8s.io; run it with
// `cd deploy && go test ./...`.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decode strictly decodes every document of the manifests by kind.
func decode(t *testing.T) map[string]any {
	t.Helper()
	files, _ := filepath.Glob("k8s/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in k8s/")
	}
	out := map[string]any{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(raw, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var obj any
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				obj = &appsv1.Deployment{}
			case "v1 Service":
				obj = &corev1.Service{}
			case "v1 Secret":
				obj = &corev1.Secret{}
			case "autoscaling/v2 HorizontalPodAutoscaler":
				obj = &autoscalingv2.HorizontalPodAutoscaler{}
			default:
				t.Fatalf("%s #%d: unexpected %s %s", f, i, head.APIVersion, head.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s #%d (%s): %v", f, i, head.Kind, err)
				continue
			}
			out[head.Kind] = obj
		}
	}
	return out
}

func TestManifests(t *testing.T) {
	objs := decode(t)
	dep, _ := objs["Deployment"].(*appsv1.Deployment)
	svc, _ := objs["Service"].(*corev1.Service)
	hpa, _ := objs["HorizontalPodAutoscaler"].(*autoscalingv2.HorizontalPodAutoscaler)
	if dep == nil || svc == nil || hpa == nil {
		kinds := []string{}
		for k := range objs {
			kinds = append(kinds, k)
		}
		t.Fatalf("want a Deployment, a Service and an HPA that decode, got %v", kinds)
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("want one container")
	}
	c := dep.Spec.Template.Spec.Containers[0]
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, the pods are labelled %v", k, v, dep.Spec.Template.Labels)
		}
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/health" {
		t.Error("readiness must follow /health (it turns 503 while draining)")
	}
	if q, ok := c.Resources.Limits["nvidia.com/gpu"]; !ok || q.Value() != 1 {
		t.Error("the container must ask for one GPU")
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name {
		t.Errorf("Service targetPort %v is not the container's port %q", svc.Spec.Ports, c.Ports[0].Name)
	}
	if hpa.Spec.ScaleTargetRef.Name != dep.Name {
		t.Errorf("the HPA scales %q, the Deployment is %q", hpa.Spec.ScaleTargetRef.Name, dep.Name)
	}
	// The flags exist in dream-lsp api, the metric in its /metrics, the key comes from the env.
	apiSrc, err := os.ReadFile("../cmd/dream-lsp/api.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Args {
		name := strings.TrimPrefix(strings.SplitN(a, "=", 2)[0], "--")
		if !regexp.MustCompile(fmt.Sprintf(`fs\.\w+\("%s"`, regexp.QuoteMeta(name))).Match(apiSrc) {
			t.Errorf("argument %s: dream-lsp api has no flag --%s", a, name)
		}
		if strings.HasPrefix(a, "--api-key-env=") {
			env := strings.TrimPrefix(a, "--api-key-env=")
			found := false
			for _, e := range c.Env {
				found = found || e.Name == env && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
			}
			if !found {
				t.Errorf("--api-key-env names %s, which is not set from a Secret", env)
			}
		}
	}
	metricsSrc, err := os.ReadFile("../infill/api/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hpa.Spec.Metrics {
		if m.Pods == nil || !bytes.Contains(metricsSrc, []byte(`"`+m.Pods.Metric.Name+`"`)) {
			t.Errorf("HPA metric %+v is not one dream-lsp api exports", m)
		}
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 35 {
		t.Error("terminationGracePeriodSeconds must exceed --drain-timeout (30s)")
	}
}

// TestDockerfile: the image runs dream-lsp api on every interface of the container.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{`"api", "--listen", ":8080"`, "EXPOSE 8080", "USER 10001", "./cmd/dream-lsp"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
