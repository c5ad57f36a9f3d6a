package kubernetes

import "fmt"

// StableName is the name of an app's stable Deployment and of the Service
// created by its first deploy (never re-created after).
func StableName(app string) string { return app }

// SetName is the name of release v's own Deployment and Service during a
// canary or blue-green rollout.
func SetName(app string, release int) string { return fmt.Sprintf("%s-v%d", app, release) }

// SetLabel is the nonstop.dev/set value of a pod set: "stable", or "vN".
func SetLabel(release int) string {
	if release == 0 {
		return "stable"
	}
	return fmt.Sprintf("v%d", release)
}

// ClaimName is the PersistentVolumeClaim of an app's volume.
func ClaimName(app, volume string) string { return app + "-" + volume }

// appLabels are the labels every object of the app carries.
func appLabels(app string) map[string]string {
	return map[string]string{LabelName: app, LabelInstance: app, LabelManagedBy: "nonstop"}
}

// selector selects the pods of one of an app's sets (set 0: stable).
func selector(app string, set int) map[string]string {
	return map[string]string{LabelInstance: app, LabelSet: SetLabel(set)}
}
