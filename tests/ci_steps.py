"""A small step runner for the CI templates (deploy/ci/): runs a job's shell steps in order, as the
CI system would, with its expressions filled from a context.

Each CI system is read from its own file format (GitHub Actions, GitLab CI, Azure Pipelines,
Jenkins declarative). Actions and tasks that only move files are emulated (checkout, set up
Python, upload an artifact: copied to ``workspace/../artifacts/<name>``); steps named in
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
from ci_expr import azure_condition, github_eval, github_fill, text

__all__ = ["Job", "StepResult", "run_azure", "run_github", "run_gitlab", "run_jenkins"]

STEP_TIMEOUT = 240


@dataclass
class StepResult:
    name: str
    code: int | None  # None: skipped
    output: str = ""
    seconds: float = 0.0


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
        return any(s.code not in (None, 0) for s in self.steps)

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


def _read_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key] = value
    return out


# --- GitHub Actions ------------------------------------------------------------------------------


def _fill(value: Any, ctx: dict[str, Any], job: Job) -> str:
    return github_fill(value, ctx, job) if isinstance(value, str) else text(value)


_GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def run_github(
    workflow: Path,
    job: Job,
    context: dict[str, Any],
    actions: Mapping[str, Path],
    python_bin: Path,
) -> Job:
    """Run the workflow's only job. ``actions`` maps ``owner/name`` to a local action.yml."""
    doc = yaml.safe_load(workflow.read_text())
    ((_, spec),) = doc["jobs"].items()
    ctx = {**context, "env": {}, "steps": {}, "job": {"status": "success"}}
    ctx["env"] = {k: _fill(v, ctx, job) for k, v in spec.get("env", {}).items()}
    env = {**job.base_env, **ctx["env"]}
    runner_temp = job.workspace.parent / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    env["RUNNER_TEMP"] = str(runner_temp)
    env["GITHUB_WORKSPACE"] = str(job.workspace)
    env["GITHUB_STEP_SUMMARY"] = str(job.workspace.parent / "step-summary.md")
    _github_steps(spec["steps"], job, ctx, env, actions, python_bin)
    summary = Path(env["GITHUB_STEP_SUMMARY"])
    if summary.exists():
        job.summaries.append(summary.read_text())
    return job


def _github_steps(
    steps: list[dict[str, Any]],
    job: Job,
    ctx: dict[str, Any],
    env: dict[str, str],
    actions: Mapping[str, Path],
    python_bin: Path,
) -> None:
    for i, step in enumerate(steps):
        name = step.get("name") or step.get("uses") or f"step {i}"
        ctx["job"]["status"] = "failure" if job.failed else "success"
        if job.skip(name):
            continue
        if not github_eval(str(step.get("if", "success()")), ctx, job, condition=True):
            job.not_run(name, "condition false")
            continue
        step_env = {**env, **{k: _fill(v, ctx, job) for k, v in step.get("env", {}).items()}}
        ctx["env"] = {**ctx["env"], **{k: step_env[k] for k in step.get("env", {})}}
        outputs: dict[str, str] = {}
        if "run" in step:
            files = {
                n: job.workspace.parent / f"{n.lower()}-{i}"
                for n in ("GITHUB_OUTPUT", "GITHUB_ENV")
            }
            for path in files.values():
                path.write_text("")
            script = github_fill(step["run"], ctx, job)
            job.shell(
                name, _GITHUB_BASH, script, {**step_env, **{k: str(p) for k, p in files.items()}}
            )
            outputs = _read_env_file(files["GITHUB_OUTPUT"])
            new_env = _read_env_file(files["GITHUB_ENV"])
            env.update(new_env)
            ctx["env"] = {**ctx["env"], **new_env}
        else:
            uses = step["uses"]
            with_ = {k: _fill(v, ctx, job) for k, v in step.get("with", {}).items()}
            outputs = _github_uses(name, uses, with_, job, ctx, step_env, actions, python_bin, env)
        if "id" in step:
            ctx["steps"][step["id"]] = {"outputs": outputs}


def _github_uses(
    name: str,
    uses: str,
    with_: dict[str, str],
    job: Job,
    ctx: dict[str, Any],
    env: dict[str, str],
    actions: Mapping[str, Path],
    python_bin: Path,
    job_env: dict[str, str],
) -> dict[str, str]:
    repo = uses.split("@", 1)[0]
    if repo == "actions/checkout":
        assert with_.get("persist-credentials") == "false", "checkout keeps the token on disk"
        job.emulated(name, "workspace already checked out")
    elif repo == "actions/setup-python":
        job.use_python(name, job_env, python_bin)
        env["PATH"] = job_env["PATH"]
    elif repo == "actions/upload-artifact":
        job.upload(with_["name"], with_["path"].split(), flat=True)
    elif repo in actions:
        return _github_composite(name, actions[repo], with_, job, ctx, env, actions, python_bin)
    else:
        raise NotImplementedError(f"no emulation for {uses}")
    return {}


def _github_composite(
    name: str,
    action: Path,
    with_: dict[str, str],
    job: Job,
    ctx: dict[str, Any],
    env: dict[str, str],
    actions: Mapping[str, Path],
    python_bin: Path,
) -> dict[str, str]:
    doc = yaml.safe_load(action.read_text())
    assert doc["runs"]["using"] == "composite"
    inputs: dict[str, str] = {}
    for key, spec in doc.get("inputs", {}).items():
        default = _fill(spec.get("default", ""), ctx, job)
        inputs[key] = with_.get(key, default)
        assert not (spec.get("required") and not inputs[key]), f"{name}: input {key} is required"
    unknown = set(with_) - set(inputs)
    assert not unknown, f"{name}: unknown inputs {unknown}"
    inner = {**ctx, "inputs": inputs, "steps": {}}
    inner_steps = [{**s, "run": s["run"]} if "run" in s else s for s in doc["runs"]["steps"]]
    _github_steps(inner_steps, job, inner, dict(env), actions, python_bin)
    return {
        k: text(github_fill(str(v["value"]), inner, job)) for k, v in doc.get("outputs", {}).items()
    }


# --- GitLab CI -----------------------------------------------------------------------------------


def run_gitlab(pipeline: Path, job: Job, variables: Mapping[str, str], python_bin: Path) -> Job:
    """Run the pipeline's only job; ``variables`` are the project's CI/CD variables, which win
    over the file's. The job's services are what the test replaces."""
    doc = yaml.safe_load(pipeline.read_text())
    ((name, spec),) = [(k, v) for k, v in doc.items() if isinstance(v, dict) and "script" in v]
    services = {s["alias"] for s in spec.get("services", [])}
    if services and job.skip("services"):
        job.steps[-1] = StepResult(f"services {sorted(services)}", None, "replaced by the test")
    env = {**job.base_env, **variables}
    for key, value in spec.get("variables", {}).items():
        if key not in variables:
            env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), str(value))
    job.use_python(None, env, python_bin)  # the job's python image
    env["CI_PROJECT_DIR"] = str(job.workspace)
    script = "set -eo pipefail\n" + "\n".join(spec["script"])
    job.shell(name, ["bash", "--noprofile", "--norc"], script, env)
    artifacts = spec.get("artifacts", {})
    if artifacts.get("when") == "always" or not job.failed:
        job.upload(name, artifacts.get("paths", []))
    return job


# --- Azure Pipelines -----------------------------------------------------------------------------


def run_azure(
    pipeline: Path,
    job: Job,
    parameters: Mapping[str, Any],
    predefined: Mapping[str, str],
    python_bin: Path,
) -> Job:
    """Run the pipeline's only job. ``predefined`` holds Azure's variables (Build.BuildId, ...)."""
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
        else:
            raise NotImplementedError(f"no emulation for {step['task']}")
    return job


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


def run_jenkins(
    jenkinsfile: Path, job: Job, params: Mapping[str, str], jenkins_env: Mapping[str, str]
) -> Job:
    """Run the pipeline's ``sh`` steps stage by stage, then ``post { always }``."""
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
    for m in _SH.finditer(stages):
        if job.failed:
            job.not_run(m.group(1), "stage skipped after a failure")
        elif not job.skip(m.group(1)):
            job.shell(m.group(1), ["sh", "-xe"], _groovy_single(m.group(2)), env)
    always = post.split("always {", 1)[1]
    if archive := re.search(r"archiveArtifacts artifacts: '([^']*)'", always):
        job.upload("archive", [archive.group(1).replace("/**", "")])
    for m in _SH.finditer(always):
        job.shell(m.group(1), ["sh", "-xe"], _groovy_single(m.group(2)), env)
    return job
