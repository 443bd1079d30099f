package v1beta1

// FieldEffect says what a change of a spec field does to a job cluster's running job.
type FieldEffect string

// The field effects.
const (
	// RestartsJob: the change rolls out as the job's update (stop with a savepoint, rebuild the
	// children, resubmit from the savepoint). The field is part of the job's revision.
	RestartsJob FieldEffect = "RestartsJob"
	// AppliedLive: the operator acts on the change while the job runs (a scale, a savepoint or
	// cancel request, a policy read when it applies); children it shapes wait for the job's next
	// stop.
	AppliedLive FieldEffect = "AppliedLive"
	// IgnoredWhileRunning: read only at the job's first submission, or accepted with one value
	// only; a change does nothing to a running job.
	IgnoredWhileRunning FieldEffect = "IgnoredWhileRunning"
)

// SpecFieldEffects classifies every field of FlinkClusterSpec by its JSON path. An entry covers
// the field and everything under it. A test walks the types and fails on a field that is not
// covered (or covered twice), so a new field cannot restart running jobs by accident: whoever adds
// one decides here. desired.JobRevision hashes the spec without the fields that are not
// RestartsJob.
var SpecFieldEffects = map[string]FieldEffect{
	"spec.taskManager.replicas":                AppliedLive, // scaled in place
	"spec.job.savepointGeneration":             AppliedLive, // takes a savepoint
	"spec.job.cancelRequested":                 AppliedLive, // cancels the job
	"spec.job.state":                           AppliedLive, // suspends or resumes the job
	"spec.job.restoreGeneration":               AppliedLive, // restarts the job from fromSavepoint
	"spec.job.autoSavepointSeconds":            AppliedLive, // the schedule of the next savepoint
	"spec.job.savepointsDir":                   AppliedLive, // new savepoints go there at once
	"spec.job.savepointRetention":              AppliedLive, // read at every sync
	"spec.job.savepointFormatType":             AppliedLive, // the format of the next savepoint
	"spec.job.restartPolicy":                   AppliedLive, // read when the job fails
	"spec.job.restartOnUnhealthy":              AppliedLive, // read when the job is judged unhealthy
	"spec.job.rollback":                        AppliedLive, // read when an update's job fails or runs late
	"spec.job.cleanupPolicy":                   AppliedLive, // read when the job ends
	"spec.job.takeSavepointOnUpdate":           AppliedLive, // read by the next update
	"spec.job.takeSavepointOnUpgrade":          AppliedLive,
	"spec.job.upgradeMode":                     AppliedLive, // read by the next update
	"spec.job.upgradeFallback":                 AppliedLive, // read by the next update
	"spec.networkPolicy":                       AppliedLive, // the NetworkPolicy is updated at once; no pod changes
	"spec.jobManager.replicas":                 AppliedLive, // standby JobManagers (HA only) are added or removed in place
	"spec.podDisruptionBudget":                 AppliedLive, // the PodDisruptionBudget is updated at once; no pod changes
	"spec.taskManager.horizontalPodAutoscaler": AppliedLive, // the autoscaler is updated at once; it scales in place
	"spec.jobManager.restTLS":                  AppliedLive, // read by the operator's REST client at the next sync

	"spec.job.fromSavepoint":          IgnoredWhileRunning, // read at the first submission
	"spec.recreateOnUpdate":           IgnoredWhileRunning, // one accepted value (true)
	"spec.taskManager.deploymentType": IgnoredWhileRunning, // one accepted value (Deployment)
	"spec.job.mode":                   IgnoredWhileRunning, // immutable (a CEL transition rule)

	"spec.flinkVersion":         RestartsJob,
	"spec.image":                RestartsJob,
	"spec.serviceAccountName":   RestartsJob,
	"spec.batchSchedulerName":   RestartsJob, // rejected by the API server
	"spec.batchScheduler":       RestartsJob, // rejected by the API server
	"spec.envVars":              RestartsJob,
	"spec.envFrom":              RestartsJob,
	"spec.flinkProperties":      RestartsJob,
	"spec.hadoopConfig":         RestartsJob,
	"spec.gcpConfig":            RestartsJob,
	"spec.logConfig":            RestartsJob,
	"spec.revisionHistoryLimit": RestartsJob,
	"spec.podSecurityDefaults":  RestartsJob,
	"spec.highAvailability":     RestartsJob, // the JobManagers restart with or without HA services

	"spec.jobManager.accessScope":                   RestartsJob,
	"spec.jobManager.ServiceAnnotations":            RestartsJob,
	"spec.jobManager.ServiceLabels":                 RestartsJob,
	"spec.jobManager.ports":                         RestartsJob,
	"spec.jobManager.ingress":                       RestartsJob,
	"spec.jobManager.extraPorts":                    RestartsJob,
	"spec.jobManager.resources":                     RestartsJob,
	"spec.jobManager.memoryOffHeapRatio":            RestartsJob,
	"spec.jobManager.memoryOffHeapMin":              RestartsJob,
	"spec.jobManager.memoryProcessRatio":            RestartsJob,
	"spec.jobManager.volumes":                       RestartsJob,
	"spec.jobManager.volumeMounts":                  RestartsJob,
	"spec.jobManager.initContainers":                RestartsJob,
	"spec.jobManager.nodeSelector":                  RestartsJob,
	"spec.jobManager.tolerations":                   RestartsJob,
	"spec.jobManager.sidecars":                      RestartsJob,
	"spec.jobManager.podAnnotations":                RestartsJob,
	"spec.jobManager.podLabels":                     RestartsJob,
	"spec.jobManager.securityContext":               RestartsJob,
	"spec.jobManager.livenessProbe":                 RestartsJob,
	"spec.jobManager.readinessProbe":                RestartsJob,
	"spec.jobManager.volumeClaimTemplates":          RestartsJob, // rejected by the API server
	"spec.jobManager.affinity":                      RestartsJob,
	"spec.jobManager.hostAliases":                   RestartsJob,
	"spec.jobManager.priorityClassName":             RestartsJob,
	"spec.jobManager.topologySpreadConstraints":     RestartsJob,
	"spec.jobManager.terminationGracePeriodSeconds": RestartsJob,
	"spec.jobManager.dnsPolicy":                     RestartsJob,
	"spec.jobManager.dnsConfig":                     RestartsJob,
	"spec.jobManager.runtimeClassName":              RestartsJob,
	"spec.jobManager.schedulerName":                 RestartsJob,
	"spec.jobManager.podTemplate":                   RestartsJob,

	"spec.taskManager.ports":                         RestartsJob,
	"spec.taskManager.extraPorts":                    RestartsJob,
	"spec.taskManager.resources":                     RestartsJob,
	"spec.taskManager.memoryOffHeapRatio":            RestartsJob,
	"spec.taskManager.memoryOffHeapMin":              RestartsJob,
	"spec.taskManager.memoryProcessRatio":            RestartsJob,
	"spec.taskManager.volumes":                       RestartsJob,
	"spec.taskManager.volumeMounts":                  RestartsJob,
	"spec.taskManager.sidecars":                      RestartsJob,
	"spec.taskManager.initContainers":                RestartsJob,
	"spec.taskManager.nodeSelector":                  RestartsJob,
	"spec.taskManager.tolerations":                   RestartsJob,
	"spec.taskManager.podAnnotations":                RestartsJob,
	"spec.taskManager.podLabels":                     RestartsJob,
	"spec.taskManager.securityContext":               RestartsJob,
	"spec.taskManager.livenessProbe":                 RestartsJob,
	"spec.taskManager.readinessProbe":                RestartsJob,
	"spec.taskManager.volumeClaimTemplates":          RestartsJob, // rejected by the API server
	"spec.taskManager.affinity":                      RestartsJob,
	"spec.taskManager.hostAliases":                   RestartsJob,
	"spec.taskManager.priorityClassName":             RestartsJob,
	"spec.taskManager.topologySpreadConstraints":     RestartsJob,
	"spec.taskManager.terminationGracePeriodSeconds": RestartsJob,
	"spec.taskManager.dnsPolicy":                     RestartsJob,
	"spec.taskManager.dnsConfig":                     RestartsJob,
	"spec.taskManager.runtimeClassName":              RestartsJob,
	"spec.taskManager.schedulerName":                 RestartsJob,
	"spec.taskManager.podTemplate":                   RestartsJob,

	"spec.job.jarFile":                       RestartsJob,
	"spec.job.jarFileChecksum":               RestartsJob,
	"spec.job.className":                     RestartsJob,
	"spec.job.classPath":                     RestartsJob,
	"spec.job.pyFile":                        RestartsJob, // rejected by the API server
	"spec.job.pyFiles":                       RestartsJob, // rejected by the API server
	"spec.job.pyModule":                      RestartsJob, // rejected by the API server
	"spec.job.pythonFile":                    RestartsJob, // rejected by the API server
	"spec.job.pythonFiles":                   RestartsJob, // rejected by the API server
	"spec.job.pythonModule":                  RestartsJob, // rejected by the API server
	"spec.job.maxStateAgeToRestoreSeconds":   RestartsJob, // rejected by the API server
	"spec.job.args":                          RestartsJob,
	"spec.job.allowNonRestoredState":         RestartsJob,
	"spec.job.parallelism":                   RestartsJob,
	"spec.job.noLoggingToStdout":             RestartsJob,
	"spec.job.volumes":                       RestartsJob,
	"spec.job.volumeMounts":                  RestartsJob,
	"spec.job.initContainers":                RestartsJob,
	"spec.job.resources":                     RestartsJob,
	"spec.job.securityContext":               RestartsJob,
	"spec.job.nodeSelector":                  RestartsJob,
	"spec.job.tolerations":                   RestartsJob,
	"spec.job.podAnnotations":                RestartsJob,
	"spec.job.podLabels":                     RestartsJob,
	"spec.job.affinity":                      RestartsJob,
	"spec.job.hostAliases":                   RestartsJob,
	"spec.job.priorityClassName":             RestartsJob,
	"spec.job.topologySpreadConstraints":     RestartsJob,
	"spec.job.terminationGracePeriodSeconds": RestartsJob,
	"spec.job.dnsPolicy":                     RestartsJob,
	"spec.job.dnsConfig":                     RestartsJob,
	"spec.job.runtimeClassName":              RestartsJob,
	"spec.job.schedulerName":                 RestartsJob,
	"spec.job.podTemplate":                   RestartsJob,
}
