//! batch/v1: Job and CronJob, with the cron schedule syntax CronJobs accept.

use serde_json::{json, Value};

use super::apps::validate_template;
use super::pod::default_template;
use super::*;

/// Labels the server puts on a Job's pod template so its selector is unique to the Job; the
/// unprefixed pair is the legacy spelling, still written for old clients.
const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
const JOB_NAME: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID: &str = "controller-uid";
const LEGACY_JOB_NAME: &str = "job-name";

// ---------------------------------------------------------------------------------------
// Job
// ---------------------------------------------------------------------------------------

pub(super) fn default_job(obj: &mut Obj) {
    let meta = get_obj(obj, "metadata");
    let uid = meta.map(|m| str_of(m, "uid")).unwrap_or("").to_string();
    let name = meta.map(|m| str_of(m, "name")).unwrap_or("").to_string();
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    if is_unset(spec.get("completions")) && is_unset(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let backoff = if is_unset(spec.get("backoffLimitPerIndex")) {
        6
    } else {
        i64::from(i32::MAX)
    };
    set_default(spec, "backoffLimit", json!(backoff));
    default_str(spec, "completionMode", "NonIndexed");
    set_default(spec, "suspend", json!(false));
    let replacement = if is_unset(spec.get("podFailurePolicy")) {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    default_str(spec, "podReplacementPolicy", replacement);
    set_default(spec, "manualSelector", json!(false));
    default_template(spec);
    if get_bool(spec, "manualSelector") != Some(true) && !uid.is_empty() {
        generate_selector(spec, &uid, &name);
    }
    // A Job without labels of its own carries its pods' labels.
    let template_labels = get_obj(spec, "template")
        .and_then(|t| get_obj(t, "metadata"))
        .and_then(|m| get_obj(m, "labels"))
        .filter(|l| !l.is_empty())
        .cloned();
    if let (Some(labels), Some(meta)) = (template_labels, obj_mut(obj, "metadata")) {
        if is_unset(meta.get("labels")) || get_obj(meta, "labels").is_some_and(Map::is_empty) {
            meta.insert("labels".into(), Value::Object(labels));
        }
    }
}

/// Label the template with the Job's name and uid (keeping labels the user set, which
/// validation then checks) and select on the uid.
fn generate_selector(spec: &mut Obj, uid: &str, name: &str) {
    let Some(template) = obj_mut(spec, "template") else {
        return;
    };
    let Some(meta) = obj_mut(template, "metadata") else {
        return;
    };
    let Some(labels) = obj_mut(meta, "labels") else {
        return;
    };
    for k in [LEGACY_JOB_NAME, JOB_NAME] {
        labels.entry(k).or_insert_with(|| json!(name));
    }
    for k in [LEGACY_CONTROLLER_UID, CONTROLLER_UID] {
        labels.entry(k).or_insert_with(|| json!(uid));
    }
    let Some(sel) = obj_mut(spec, "selector") else {
        return;
    };
    let Some(ml) = obj_mut(sel, "matchLabels") else {
        return;
    };
    ml.entry(CONTROLLER_UID).or_insert_with(|| json!(uid));
}

/// The JobSpec rules shared by Jobs and CronJob job templates.
fn validate_job_spec(spec: &Obj, path: &str, is_job: bool, causes: &mut Vec<Cause>) {
    for f in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        nonnegative(spec, f, path, causes);
    }
    let selector = get_obj(spec, "selector");
    let sel_path = child(path, "selector");
    match selector {
        None if is_job => causes.push(required(&sel_path, "")),
        None => {}
        Some(sel) => validate_label_selector(sel, &sel_path, causes),
    }
    one_of(
        spec,
        "completionMode",
        path,
        &["NonIndexed", "Indexed"],
        !is_job,
        causes,
    );
    if str_of(spec, "completionMode") == "Indexed" && is_unset(spec.get("completions")) {
        causes.push(required(
            &child(path, "completions"),
            "when completion mode is Indexed",
        ));
    }
    one_of(
        spec,
        "podReplacementPolicy",
        path,
        &["Failed", "TerminatingOrFailed"],
        true,
        causes,
    );
    let tpath = child(path, "template");
    match get_obj(spec, "template") {
        None => causes.push(required(&tpath, "")),
        Some(t) => {
            validate_template(t, &tpath, selector, causes);
            if let Some(ps) = get_obj(t, "spec") {
                let rp = ps.get("restartPolicy").unwrap_or(&Value::Null);
                if !matches!(rp.as_str(), Some("OnFailure" | "Never")) {
                    causes.push(not_supported(
                        &child(&child(&tpath, "spec"), "restartPolicy"),
                        rp,
                        &["OnFailure", "Never"],
                    ));
                }
            }
        }
    }
}

/// The label a generated selector relies on is there with the expected value.
fn has_label(labels: Option<&Obj>, k: &str, want: &str, path: &str, causes: &mut Vec<Cause>) {
    let p = key(path, k);
    match labels.and_then(|l| l.get(k)) {
        None => causes.push(required(&p, &format!("must be '{want}'"))),
        Some(v) if v.as_str() != Some(want) => causes.push(invalid_value(
            &p,
            &labels.cloned().map(Value::Object).unwrap_or(Value::Null),
            &format!("must be '{want}'"),
        )),
        Some(_) => {}
    }
}

pub(super) fn validate_job(obj: &Obj, old: Option<&Obj>, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    validate_job_spec(spec, "spec", true, causes);
    if get_bool(spec, "manualSelector") != Some(true) {
        let meta = get_obj(obj, "metadata");
        let uid = meta.map(|m| str_of(m, "uid")).unwrap_or("");
        let name = meta.map(|m| str_of(m, "name")).unwrap_or("");
        let labels = get_obj(spec, "template")
            .and_then(|t| get_obj(t, "metadata"))
            .and_then(|m| get_obj(m, "labels"));
        let lp = "spec.template.metadata.labels";
        if !uid.is_empty() {
            has_label(labels, LEGACY_CONTROLLER_UID, uid, lp, causes);
            has_label(labels, LEGACY_JOB_NAME, name, lp, causes);
            has_label(labels, CONTROLLER_UID, uid, lp, causes);
            has_label(labels, JOB_NAME, name, lp, causes);
            if let Some(sel) = get_obj(spec, "selector") {
                let expected = json!({CONTROLLER_UID: uid});
                if !selector_matches(sel, expected.as_object()) {
                    causes.push(invalid_value(
                        "spec.selector",
                        &Value::Object(sel.clone()),
                        "`selector` not auto-generated",
                    ));
                }
            }
        }
    }
    let Some(old_spec) = old.and_then(|o| get_obj(o, "spec")) else {
        return;
    };
    immutable(
        "spec.selector",
        spec.get("selector"),
        old_spec.get("selector"),
        causes,
    );
    immutable(
        "spec.completionMode",
        spec.get("completionMode"),
        old_spec.get("completionMode"),
        causes,
    );
    let elastic = str_of(spec, "completionMode") == "Indexed"
        && spec.get("completions") == spec.get("parallelism");
    if !elastic {
        immutable(
            "spec.completions",
            spec.get("completions"),
            old_spec.get("completions"),
            causes,
        );
    }
    // A suspended Job that never started may still be re-targeted (queueing controllers set
    // where its pods go); nothing else of the template changes.
    let never_started =
        get_obj(old.unwrap_or(&empty), "status").is_none_or(|s| is_unset(s.get("startTime")));
    let scheduling_mutable = get_bool(old_spec, "suspend") == Some(true) && never_started;
    let mask = |s: &Obj| -> Value {
        let mut t = s.get("template").cloned().unwrap_or(Value::Null);
        if scheduling_mutable {
            if let Some(t) = t.as_object_mut() {
                if let Some(m) = existing_mut(t, "metadata") {
                    m.remove("labels");
                    m.remove("annotations");
                }
                if let Some(ps) = existing_mut(t, "spec") {
                    for f in ["nodeSelector", "tolerations", "affinity", "schedulingGates"] {
                        ps.remove(f);
                    }
                }
            }
        }
        t
    };
    if mask(spec) != mask(old_spec) {
        causes.push(invalid_value(
            "spec.template",
            spec.get("template").unwrap_or(&Value::Null),
            IMMUTABLE,
        ));
    }
}

// ---------------------------------------------------------------------------------------
// CronJob
// ---------------------------------------------------------------------------------------

pub(super) fn default_cronjob(obj: &mut Obj) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    default_str(spec, "concurrencyPolicy", "Allow");
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(jt) = existing_mut(spec, "jobTemplate") {
        if let Some(js) = existing_mut(jt, "spec") {
            default_template(js);
        }
    }
}

pub(super) fn validate_cronjob(obj: &Obj, causes: &mut Vec<Cause>) {
    let empty = Map::new();
    let spec = get_obj(obj, "spec").unwrap_or(&empty);
    let schedule = str_of(spec, "schedule");
    let time_zone = get_str(spec, "timeZone");
    if schedule.is_empty() {
        causes.push(required("spec.schedule", ""));
    } else {
        if let Err(msg) = parse_schedule(schedule) {
            causes.push(invalid("spec.schedule", schedule, &msg));
        }
        if time_zone.is_some() && (schedule.contains("TZ=") || schedule.contains("CRON_TZ=")) {
            causes.push(invalid(
                "spec.schedule",
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        }
    }
    if let Some(tz) = time_zone {
        if let Err(msg) = check_time_zone(tz) {
            causes.push(invalid("spec.timeZone", tz, &msg));
        }
    }
    one_of(
        spec,
        "concurrencyPolicy",
        "spec",
        &["Allow", "Forbid", "Replace"],
        false,
        causes,
    );
    for f in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        nonnegative(spec, f, "spec", causes);
    }
    let jt_path = "spec.jobTemplate";
    match get_obj(spec, "jobTemplate") {
        None => causes.push(required(&child(jt_path, "spec"), "")),
        Some(jt) => {
            let meta = get_obj(jt, "metadata");
            validate_labels(
                meta.and_then(|m| m.get("labels")),
                "spec.jobTemplate.metadata.labels",
                causes,
            );
            validate_annotations(
                meta.and_then(|m| m.get("annotations")),
                "spec.jobTemplate.metadata.annotations",
                causes,
            );
            match get_obj(jt, "spec") {
                Some(js) => validate_job_spec(js, "spec.jobTemplate.spec", false, causes),
                None => causes.push(required("spec.jobTemplate.spec", "")),
            }
        }
    }
}

/// An IANA time zone name this host knows. "Local" is refused: the controller's zone is
/// not the user's.
fn check_time_zone(tz: &str) -> Result<(), String> {
    if tz.is_empty() {
        return Err("timeZone must be nil or non-empty string".into());
    }
    if tz.eq_ignore_ascii_case("local") {
        return Err(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .into(),
        );
    }
    let unknown = || Err(format!("unknown time zone {tz}"));
    for part in tz.split('/') {
        let ok_chars = part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'+');
        if part.is_empty() || part == "." || part == ".." || part.starts_with('-') || !ok_chars {
            return unknown();
        }
    }
    if tz == "UTC" {
        return Ok(());
    }
    let zoneinfo = std::path::Path::new("/usr/share/zoneinfo");
    // Without a zone database on this host there is nothing to check against.
    if zoneinfo.is_dir() && !zoneinfo.join(tz).is_file() {
        return unknown();
    }
    Ok(())
}

/// A standard cron schedule: five fields (minute, hour, day of month, month, day of week),
/// or a descriptor (`@hourly`, `@every 1h30m`), optionally after `TZ=<zone>`.
pub(super) fn parse_schedule(spec: &str) -> Result<(), String> {
    let mut s = spec.trim();
    if s.is_empty() {
        return Err("empty spec string".into());
    }
    if s.starts_with("TZ=") || s.starts_with("CRON_TZ=") {
        let (tz_part, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
        let tz = tz_part.split_once('=').map(|(_, z)| z).unwrap_or("");
        if check_time_zone(tz).is_err() {
            return Err(format!(
                "provided bad location {tz}: unknown time zone {tz}"
            ));
        }
        s = rest.trim();
    }
    if let Some(desc) = s.strip_prefix('@') {
        if let Some(d) = desc.strip_prefix("every ") {
            return parse_duration(d.trim()).map(|_| ()).map_err(|_| {
                format!(
                    "failed to parse duration {s}: time: invalid duration \"{}\"",
                    d.trim()
                )
            });
        }
        return match desc {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ => Err(format!("unrecognized descriptor: {s}")),
        };
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(u32, u32, &[&str], u32); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, MONTHS, 1),
        (0, 6, DAYS, 0),
    ];
    for (field, (min, max, names, first)) in fields.iter().zip(bounds) {
        for part in field.split(',') {
            parse_range(part, min, max, names, first)?;
        }
    }
    Ok(())
}

fn parse_range(expr: &str, min: u32, max: u32, names: &[&str], first: u32) -> Result<(), String> {
    let steps: Vec<&str> = expr.split('/').collect();
    if steps.len() > 2 {
        return Err(format!("too many slashes: {expr}"));
    }
    let bounds: Vec<&str> = steps[0].split('-').collect();
    if bounds.len() > 2 {
        return Err(format!("too many hyphens: {expr}"));
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(first + i as u32);
        }
        if let Some(n) = s.strip_prefix('-') {
            return Err(format!("negative number ({n}) not allowed: {s}"));
        }
        s.parse::<u32>().map_err(|_| {
            format!("failed to parse int from {s}: strconv.Atoi: parsing \"{s}\": invalid syntax")
        })
    };
    let (start, mut end) = if bounds[0] == "*" || bounds[0] == "?" {
        (min, max)
    } else {
        let start = value(bounds[0])?;
        let end = match bounds.get(1) {
            Some(e) => value(e)?,
            None => start,
        };
        (start, end)
    };
    if let Some(step) = steps.get(1) {
        let step = value(step)?;
        if step == 0 {
            return Err(format!("step of range should be a positive number: {expr}"));
        }
        // "N/step" means from N to the field's maximum.
        if bounds.len() == 1 && bounds[0] != "*" && bounds[0] != "?" {
            end = max;
        }
    }
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    Ok(())
}

/// A Go duration such as `1h30m` or `90s` (units ns, us, µs, ms, s, m, h).
fn parse_duration(s: &str) -> Result<f64, ()> {
    let mut rest = s;
    let mut total = 0.0;
    if rest.is_empty() {
        return Err(());
    }
    if rest == "0" {
        return Ok(0.0);
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or(())?;
        let n: f64 = rest[..num_end].parse().map_err(|_| ())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(()),
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    const UID: &str = "8f4c0d2b-5a1e-4c7d-9b3a-2e6f1a0c9d88";

    fn pi_job() -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "uid": UID},
            "spec": {"backoffLimit": 4, "template": {"spec": {"containers": [
                {"name": "pi", "image": "perl:5.34.0", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}],
                "restartPolicy": "Never"}}}})
    }

    #[test]
    fn job_defaults_match_upstream() {
        let job = defaulted("batch/v1", "Job", pi_job());
        let labels = json!({
            "batch.kubernetes.io/controller-uid": UID,
            "batch.kubernetes.io/job-name": "pi",
            "controller-uid": UID,
            "job-name": "pi"
        });
        assert_eq!(
            job,
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "uid": UID, "labels": labels},
            "spec": {
                "backoffLimit": 4,
                "completionMode": "NonIndexed",
                "completions": 1,
                "manualSelector": false,
                "parallelism": 1,
                "podReplacementPolicy": "TerminatingOrFailed",
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}},
                "suspend": false,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [{"name": "pi", "image": "perl:5.34.0",
                            "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"],
                            "imagePullPolicy": "IfNotPresent", "resources": {},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File"}],
                        "dnsPolicy": "ClusterFirst", "restartPolicy": "Never",
                        "schedulerName": "default-scheduler", "securityContext": {},
                        "terminationGracePeriodSeconds": 30
                    }
                }
            }})
        );
        assert!(check("batch/v1", "Job", &job, None).is_empty());
        // Defaulting the stored object again (an update) changes nothing.
        assert_eq!(defaulted("batch/v1", "Job", job.clone()), job);
        let parallel = defaulted(
            "batch/v1",
            "Job",
            json!({"metadata": {"name": "p", "uid": "u", "labels": {"mine": "x"}},
            "spec": {"parallelism": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}], "restartPolicy": "Never"}}}}),
        );
        assert!(parallel["spec"].get("completions").is_none());
        assert_eq!(parallel["metadata"]["labels"], json!({"mine": "x"}));
    }

    #[test]
    fn job_rules() {
        let mut job = pi_job();
        job["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        job["spec"]["completionMode"] = json!("Indexed");
        job["spec"]["completions"] = Value::Null;
        job["spec"]["parallelism"] = json!(-1);
        let e = errors("batch/v1", "Job", job);
        assert_has(
            &e,
            "spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
        assert_has(&e, "spec.completions", "FieldValueRequired");
        assert_has(&e, "spec.parallelism", "FieldValueInvalid");
        let mut job = pi_job();
        job["spec"]["template"]["spec"]["restartPolicy"] = Value::Null;
        let e = errors("batch/v1", "Job", job);
        assert_has(
            &e,
            "spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
        // A hand-written selector without manualSelector is not the generated one.
        let mut job = pi_job();
        job["spec"]["selector"] = json!({"matchLabels": {"app": "pi"}});
        job["spec"]["template"]["metadata"] = json!({"labels": {"app": "pi", "job-name": "other"}});
        let e = errors("batch/v1", "Job", job);
        assert_has(&e, "spec.selector", "FieldValueInvalid");
        assert_has(
            &e,
            "spec.template.metadata.labels[job-name]",
            "FieldValueInvalid",
        );
        // With manualSelector the user's selector must exist and match.
        let mut job = pi_job();
        job["spec"]["manualSelector"] = json!(true);
        let e = errors("batch/v1", "Job", job);
        assert_has(&e, "spec.selector", "FieldValueRequired");
        // Selector, template and completions are fixed once created.
        let old = defaulted("batch/v1", "Job", pi_job());
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:5.36");
        new["spec"]["completions"] = json!(2);
        let e = update_errors("batch/v1", "Job", &new, Some(&old));
        assert_has(&e, "spec.template", "FieldValueInvalid");
        assert_has(&e, "spec.completions", "FieldValueInvalid");
        let mut new = old.clone();
        new["spec"]["selector"]["matchLabels"]["x"] = json!("y");
        let e = update_errors("batch/v1", "Job", &new, Some(&old));
        assert_has(&e, "spec.selector", "FieldValueInvalid");
        // A suspended job that never ran may change where its pods go.
        let mut old = old;
        old["spec"]["suspend"] = json!(true);
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(check("batch/v1", "Job", &new, Some(&old)).is_empty());
    }

    fn hello_cronjob() -> Value {
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "hello", "image": "busybox:1.28", "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", "date; echo Hello from the Kubernetes cluster"]}],
                "restartPolicy": "OnFailure"}}}}}})
    }

    #[test]
    fn cronjob_defaults_match_upstream() {
        let cj = defaulted("batch/v1", "CronJob", hello_cronjob());
        assert_eq!(
            cj,
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"},
            "spec": {
                "concurrencyPolicy": "Allow",
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": {"template": {"spec": {
                    "containers": [{"name": "hello", "image": "busybox:1.28", "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "-c", "date; echo Hello from the Kubernetes cluster"],
                        "resources": {}, "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"}],
                    "dnsPolicy": "ClusterFirst", "restartPolicy": "OnFailure",
                    "schedulerName": "default-scheduler", "securityContext": {},
                    "terminationGracePeriodSeconds": 30}}}},
                "schedule": "* * * * *",
                "successfulJobsHistoryLimit": 3,
                "suspend": false
            }})
        );
        assert!(check("batch/v1", "CronJob", &cj, None).is_empty());
    }

    #[test]
    fn cronjob_rules() {
        let mut cj = hello_cronjob();
        cj["spec"]["schedule"] = json!("61 * * * *");
        cj["spec"]["concurrencyPolicy"] = json!("Sometimes");
        cj["spec"]["timeZone"] = json!("Mars/Olympus");
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        let e = errors("batch/v1", "CronJob", cj);
        assert_has(&e, "spec.schedule", "FieldValueInvalid");
        assert_has(&e, "spec.concurrencyPolicy", "FieldValueNotSupported");
        assert_has(&e, "spec.timeZone", "FieldValueInvalid");
        assert_has(
            &e,
            "spec.jobTemplate.spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
        let mut cj = hello_cronjob();
        cj["spec"]["schedule"] = json!("");
        assert_has(
            &errors("batch/v1", "CronJob", cj),
            "spec.schedule",
            "FieldValueRequired",
        );
        let mut cj = hello_cronjob();
        cj["spec"]["schedule"] = json!("TZ=UTC 0 * * * *");
        cj["spec"]["timeZone"] = json!("Etc/UTC");
        assert_has(
            &errors("batch/v1", "CronJob", cj),
            "spec.schedule",
            "FieldValueInvalid",
        );
        let mut cj = hello_cronjob();
        cj["spec"]["timeZone"] = json!("Local");
        assert_has(
            &errors("batch/v1", "CronJob", cj),
            "spec.timeZone",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn schedules() {
        for ok in [
            "* * * * *",
            "*/5 * * * *",
            "0 0 1 1 *",
            "0 9-17 * * mon-fri",
            "30 2 * JAN,Jul SUN",
            "0 0 ? * *",
            "5/15 * * * *",
            "@hourly",
            "@daily",
            "@annually",
            "@every 1h30m",
            "TZ=UTC 0 0 * * *",
            "CRON_TZ=UTC @daily",
        ] {
            assert_eq!(parse_schedule(ok), Ok(()), "{ok}");
        }
        for (bad, msg) in [
            ("", "empty spec string"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            (
                "x * * * *",
                "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
            ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ] {
            assert_eq!(parse_schedule(bad), Err(msg.to_string()), "{bad}");
        }
        assert!(parse_schedule("@every 1 fortnight").is_err());
        assert!(parse_schedule("TZ=Nowhere/Special 0 0 * * *").is_err());
    }
}
