"""A small step runner for the Azure Pipelines and Jenkins templates (deploy/ci/), for which no
runner exists here (GitHub's and GitLab's run under act and gitlab-ci-local): runs a job's shell
steps in order, as the CI system would, with its expressions filled from a context.

Each CI system is read from its own file format (Azure Pipelines, Jenkins declarative). Tasks and
steps that only move files are emulated (checkout, set up Python, publish an artifact: copied to
``workspace/../artifacts/<name>``; download the latest succeeded run's artifact, copy the last
successful build's artifacts: from the earlier runs the test recorded); steps named in
``replace`` are skipped, so the test can stand in for them (the Prometheus and Pushgateway start).
Everything else runs for real in a subprocess with the job's environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ci_expr import azure_condition

__all__ = ["AzureRun", "Job", "StepResult", "run_azure", "run_jenkins"]

STEP_TIMEOUT = 240


@dataclass
class StepResult:
    name: str
    code: int | None  # None: skipped
    output: str = ""
    seconds: float = 0.0
    soft: bool = False  # continueOnError: a failure here only gives the run "issues"


@dataclass
class Job:
    """One job's run: its steps, the files it uploaded and its summaries."""

    workspace: Path
    base_env: dict[str, str]
    replace: set[str]
    steps: list[StepResult] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    replaced: set[str] = field(default_factory=set)

    @property
    def artifacts(self) -> Path:
        return self.workspace.parent / "artifacts"

    @property
    def failed(self) -> bool:
        return any(s.code not in (None, 0) and not s.soft for s in self.steps)

    @property
    def result(self) -> str:
        """Azure's word for the run's result."""
        if self.failed:
            return "failed"
        if any(s.code not in (None, 0) for s in self.steps):
            return "partiallySucceeded"
        return "succeeded"

    @property
    def code(self) -> int:
        return 1 if self.failed else 0

    def ran(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    def output(self) -> str:
        # The tail of each step: enough to see why, short enough to read.
        return "\n".join(
            f"--- {s.name} (exit {s.code}, {s.seconds:.1f}s)\n{s.output[-3000:]}"
            for s in self.steps
        )

    def skip(self, name: str) -> bool:
        if name in self.replace:
            self.replaced.add(name)
            self.not_run(name, "replaced by the test")
            return True
        return False

    def not_run(self, name: str, why: str) -> None:
        self.steps.append(StepResult(name, None, why))

    def emulated(self, name: str, note: str) -> None:
        """A step that only prepares the runner, done by the runner itself."""
        self.steps.append(StepResult(name, 0, note))

    def use_python(self, name: str | None, env: dict[str, str], python_bin: Path) -> None:
        """The job's Python first on ``env``'s PATH (setup-python, UsePythonVersion, GitLab's
        python image); ``name``: the step that set it up, if there is one."""
        env["PATH"] = f"{python_bin}{os.pathsep}{env['PATH']}"
        if name:
            self.emulated(name, f"python from {python_bin}")

    def shell(self, name: str, argv: list[str], script: str, env: Mapping[str, str]) -> int:
        with tempfile.NamedTemporaryFile(
            "w", suffix=".sh", dir=self.workspace.parent, delete=False
        ) as fh:
            fh.write(script)
        started = time.monotonic()
        proc = subprocess.run(
            [*argv, fh.name],
            cwd=self.workspace,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        os.unlink(fh.name)
        seconds = time.monotonic() - started
        self.steps.append(StepResult(name, proc.returncode, proc.stdout + proc.stderr, seconds))
        return proc.returncode

    def upload(self, name: str, paths: list[str], flat: bool = False) -> None:
        """Copy to the artifact ``name``; ``flat``: a folder's contents at its root (GitHub's
        upload-artifact with one path, Azure's pipeline artifacts), else relative paths."""
        target = self.artifacts / name
        for pattern in paths:
            for src in self.workspace.glob(pattern.rstrip("/") or "."):
                dest = target if flat and src.is_dir() else target / src.relative_to(self.workspace)
                if src.is_dir():
                    shutil.copytree(src, dest, dirs_exist_ok=True)
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dest)
        self.steps.append(StepResult(f"upload {name}", 0))


# --- Azure Pipelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AzureRun:
    """An earlier run of the pipeline, as Azure keeps it: its branch, result and artifacts."""

    branch: str  # refs/heads/main, refs/pull/7/merge
    result: str  # succeeded, partiallySucceeded, failed
    artifacts: Path


def run_azure(
    pipeline: Path,
    job: Job,
    parameters: Mapping[str, Any],
    predefined: Mapping[str, str],
    python_bin: Path,
    earlier: list[AzureRun] | None = None,
) -> Job:
    """Run the pipeline's only job. ``predefined`` holds Azure's variables (Build.BuildId, ...);
    ``earlier`` the pipeline's earlier runs, oldest first (DownloadPipelineArtifact reads them)."""
    doc = yaml.safe_load(pipeline.read_text())
    params = {p["name"]: parameters.get(p["name"], p.get("default")) for p in doc["parameters"]}
    (spec,) = doc["jobs"]
    variables: dict[str, str] = dict(predefined)

    def macro(value: str) -> str:
        value = re.sub(
            r"\$\{\{\s*(.*?)\s*\}\}", lambda m: _azure_template(m.group(1), params), value
        )
        return re.sub(r"\$\(([\w.]+)\)", lambda m: variables.get(m.group(1), m.group(0)), value)

    for key, value in spec.get("variables", {}).items():
        variables[key] = macro(str(value))
    env = dict(job.base_env)
    for step in spec["steps"]:
        name = step.get("displayName") or step.get("task") or step.get("checkout", "step")
        if job.skip(name):
            continue
        if not azure_condition(step.get("condition", "succeeded()"), variables, job.failed):
            job.not_run(name, "condition false")
            continue
        step_env = {**env, **{k.replace(".", "_").upper(): v for k, v in variables.items()}}
        step_env |= {k: macro(str(v)) for k, v in step.get("env", {}).items()}
        if "script" in step:
            # Azure runs a script with plain bash: only its last command's status counts.
            job.shell(name, ["bash", "--noprofile", "--norc"], macro(step["script"]), step_env)
            for line in job.steps[-1].output.splitlines():
                if m := re.match(r"##vso\[task\.setvariable variable=(\w+)\](.*)", line):
                    variables[m.group(1)] = m.group(2)
                if m := re.match(r"##vso\[task\.uploadsummary\](.*)", line):
                    job.summaries.append(Path(m.group(1)).read_text())
        elif "checkout" in step:
            job.emulated(name, "workspace already checked out")
        elif step["task"].startswith("UsePythonVersion@"):
            job.use_python(name, env, python_bin)
        elif step["task"].startswith("PublishTestResults@"):
            job.upload("test-results", [macro(step["inputs"]["testResultsFiles"])])
        elif step["task"].startswith("PublishPipelineArtifact@"):
            inputs = {k: macro(str(v)) for k, v in step["inputs"].items()}
            job.upload(inputs["artifact"], [inputs["targetPath"]], flat=True)
        elif step["task"].startswith("DownloadPipelineArtifact@"):
            inputs = {k: macro(str(v)) for k, v in step["inputs"].items()}
            _azure_download(name, inputs, earlier or [], job)
        else:
            raise NotImplementedError(f"no emulation for {step['task']}")
        job.steps[-1].soft = bool(step.get("continueOnError"))
    return job


def _azure_download(
    name: str, inputs: Mapping[str, str], earlier: list[AzureRun], job: Job
) -> None:
    """DownloadPipelineArtifact@2 from this pipeline's latest run on a branch (runVersion
    latestFromBranch): a succeeded run, or a partially succeeded one if allowed; the task fails
    when there is none or it lacks the artifact."""
    assert inputs["source"] == "specific" and inputs["runVersion"] == "latestFromBranch", inputs
    results = {"succeeded"}
    if inputs.get("allowPartiallySucceededBuilds", "false").lower() == "true":
        results.add("partiallySucceeded")
    runs = [r for r in earlier if r.branch == inputs["runBranch"] and r.result in results]
    source = runs[-1].artifacts / inputs["artifact"] if runs else None
    if source is None or not source.is_dir():
        why = f"no run of {inputs['runBranch']} with artifact {inputs['artifact']}"
        job.steps.append(StepResult(name, 1, f"##[error]{why}"))
        return
    dest = job.workspace / inputs["path"]
    shutil.copytree(source, dest, dirs_exist_ok=True)
    job.steps.append(StepResult(name, 0, f"downloaded {source} to {dest}"))


def _azure_template(expr: str, params: Mapping[str, Any]) -> str:
    m = re.fullmatch(r"(?:(trim)\()?parameters\.(\w+)\)?", expr)
    assert m, f"unsupported template expression {expr!r}"
    value = params[m.group(2)]
    value = str(value) if not isinstance(value, bool) else ("True" if value else "False")
    return value.strip() if m.group(1) else value


# --- Jenkins -------------------------------------------------------------------------------------

_SH = re.compile(r"sh label: '([^']*)', script: '''(.*?)'''", re.S)
_PARAM = re.compile(r"(string|booleanParam)\(name: '(\w+)', defaultValue: ('[^']*'|true|false)")


def _groovy_single(text_: str) -> str:
    """A ''' string's value: Groovy removes escaped newlines and unescapes backslashes."""
    return re.sub(r"\\(\n|\\|'|\$)", lambda m: "" if m.group(1) == "\n" else m.group(1), text_)


#: The one Groovy expression of the template: which job's builds hold the baseline.
_BASELINE_JOB = (
    "def baselineJob = env.BRANCH_NAME ? "
    "env.JOB_NAME.replaceFirst('[^/]+$', params.DEFAULT_BRANCH) : env.JOB_NAME"
)
_COPY = re.compile(
    r"copyArtifacts\(projectName: baselineJob, selector: lastSuccessful\(\), "
    r"filter: '([^']*)', optional: true, fingerprintArtifacts: false\)"
)
_STEP = re.compile(f"{_SH.pattern}|{_COPY.pattern}", re.S)
#: ``if (fileExists('F')) { unstable(...) }``: the build is UNSTABLE when a step left F
_UNSTABLE = re.compile(r"if \(fileExists\('([^']+)'\)\) \{\s*unstable\(")


def run_jenkins(
    jenkinsfile: Path,
    job: Job,
    params: Mapping[str, str],
    jenkins_env: Mapping[str, str],
    jobs: Path,
) -> Job:
    """Run the pipeline's ``sh`` and ``copyArtifacts`` steps stage by stage, then ``post {
    always }``; the build is recorded under ``jobs/<job name>/<build number>`` (its result and
    archived artifacts), where copyArtifacts finds the last successful build of a job."""
    source = jenkinsfile.read_text()
    defaults = {m.group(2): m.group(3).strip("'") for m in _PARAM.finditer(source)}
    env = {**job.base_env, **jenkins_env, "WORKSPACE": str(job.workspace)}
    env.update({k: str(params.get(k, v)) for k, v in defaults.items()})
    envblock = re.search(r"\n    environment \{(.*?)\n    \}", source, re.S)
    assert envblock
    for m in re.finditer(r"(\w+) = (\"[^\"]*\"|'[^']*')", envblock.group(1)):
        value = m.group(2)[1:-1]
        if m.group(2).startswith('"'):
            value = re.sub(r"\$\{env\.(\w+)\}", lambda r: env[r.group(1)], value)
        env[m.group(1)] = value
    stages, post = source.split("\n    post {", 1)
    assert stages.count("copyArtifacts(") == len(_COPY.findall(stages)) == 1, "copyArtifacts"
    assert _BASELINE_JOB in stages, "the baseline job's expression changed: teach the runner"
    for m in _STEP.finditer(stages):
        name = m.group(1) or "copyArtifacts"
        if job.failed:
            job.not_run(name, "stage skipped after a failure")
        elif m.group(3) is not None:
            _copy_artifacts(jobs, env, m.group(3), job)
        elif not job.skip(name):
            job.shell(name, ["sh", "-xe"], _groovy_single(m.group(2)), env)
    always = post.split("always {", 1)[1]
    build = jobs / env["JOB_NAME"] / env["BUILD_NUMBER"]
    if archive := re.search(r"archiveArtifacts artifacts: '([^']*)'", always):
        patterns = [p.strip().replace("/**", "") for p in archive.group(1).split(",")]
        job.upload("archive", patterns)
        shutil.copytree(job.artifacts / "archive", build / "archive", dirs_exist_ok=True)
    for m in _SH.finditer(always):
        job.shell(m.group(1), ["sh", "-xe"], _groovy_single(m.group(2)), env)
    build.mkdir(parents=True, exist_ok=True)
    unstable = any((job.workspace / f).exists() for f in _UNSTABLE.findall(stages))
    result = "FAILURE" if job.failed else "UNSTABLE" if unstable else "SUCCESS"
    (build / "result").write_text(result)
    return job


def _copy_artifacts(jobs: Path, env: Mapping[str, str], pattern: str, job: Job) -> None:
    """copyArtifacts from the last successful build of the baseline job (optional: none is no
    error), as the Copy Artifact plugin does."""
    name = env["JOB_NAME"]
    if env.get("BRANCH_NAME"):
        name = re.sub(r"[^/]+$", env["DEFAULT_BRANCH"], name)
    builds = sorted(
        # Jenkins' "last successful build": SUCCESS or UNSTABLE (anything better than FAILURE)
        (
            b
            for b in (jobs / name).glob("*")
            if (b / "result").read_text() in ("SUCCESS", "UNSTABLE")
        ),
        key=lambda b: int(b.name),
    )
    if not builds:
        job.steps.append(StepResult("copyArtifacts", 0, f"no successful build of {name}"))
        return
    archive = builds[-1] / "archive"
    copied = [
        f for f in archive.rglob("*") if f.is_file() and f.relative_to(archive).match(pattern)
    ]
    for f in copied:
        dest = job.workspace / f.relative_to(archive)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    job.steps.append(StepResult("copyArtifacts", 0, f"{len(copied)} files from {builds[-1]}"))
