package v1beta1

import (
	"context"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// celCostCases are FlinkClusters as users create them: the benchmark's minimal job cluster (what
// make bench creates and the admission-cost target is measured with), and a job cluster with
// the fields production specs set.
var celCostCases = map[string]string{
	"minimal job cluster": `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata: {name: wc, namespace: default}
spec:
  image: {name: "flink:2.1"}
  jobManager: {}
  taskManager: {replicas: 1}
  job:
    jarFile: /opt/flink/examples/streaming/WordCount.jar
    className: org.apache.flink.streaming.examples.wordcount.WordCount
`,
	"production job cluster": `
apiVersion: flinkoperator.k8s.io/v1beta1
kind: FlinkCluster
metadata: {name: payments, namespace: default}
spec:
  image: {name: "flink:2.3.0"}
  jobManager:
    resources: {limits: {memory: 2Gi, cpu: "1"}}
    podLabels: {team: payments}
  taskManager:
    replicas: 4
    resources: {limits: {memory: 8Gi, cpu: "2"}}
    podAnnotations: {prometheus.io/scrape: "true"}
  flinkProperties:
    taskmanager.numberOfTaskSlots: "2"
    execution.checkpointing.interval: "60 s"
  highAvailability: {type: Kubernetes, storageDir: "s3://ha/payments"}
  job:
    jarFile: /opt/flink/usrlib/payments.jar
    className: com.example.Payments
    parallelism: 8
    savepointsDir: s3://savepoints/payments
    autoSavepointSeconds: 3600
    restartPolicy: FromLatestStateOnFailure
    upgradeMode: LastState
`,
}

// BenchmarkCELValidationOfACreate runs the API server's own CEL validator (the code
// kube-apiserver runs for every FlinkCluster create) over the CRD's rules: the rules' admission
// cost without the noise of a running API server. A rule's cost is mostly in reading fields: each
// read of a field copies the schema of every property of its object (52 for spec.job), so rules
// are placed on the smallest object that holds what they read (docs/benchmarks.md).
func BenchmarkCELValidationOfACreate(b *testing.B) {
	s := crdSchema(b)
	v := cel.NewValidator(s, true, celconfig.PerCallLimit)
	for name, manifest := range celCostCases {
		b.Run(name, func(b *testing.B) {
			// As the API server decodes it: integers as int64, not float64.
			data, err := yaml.YAMLToJSON([]byte(manifest))
			if err != nil {
				b.Fatal(err)
			}
			var obj map[string]interface{}
			if err := utiljson.Unmarshal(data, &obj); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if errs, _ := v.Validate(ctx, field.NewPath(""), s, obj, nil, celconfig.RuntimeCELCostBudget); len(errs) > 0 {
					b.Fatal(errs)
				}
			}
		})
	}
}
