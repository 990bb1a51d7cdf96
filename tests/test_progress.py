"""What a running build tells its user: each spec's line as soon as it is done, stage timings, and a
status line on a terminal only (never in a pipe or with --quiet); --jobs still bounds the compilations."""
import io
import re
import threading

from conftest import EXAMPLES

import derive.builder
from derive.builder import build
from derive.cli import main
from derive.progress import STAGES, Progress, Stages

TWO = [EXAMPLES / "toy-111.toml", EXAMPLES / "mazur-222.toml"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_status_line_shows_only_on_a_terminal():
    pipe = io.StringIO()
    quiet = Progress(pipe)
    quiet.spec(1, 2, "toy-111")
    quiet.stage("prove")
    quiet.count("compiling PDFs", 1, 3)
    quiet.clear()
    assert pipe.getvalue() == ""

    screen = Terminal()
    shown = Progress(screen)
    shown.spec(1, 2, "toy-111")
    shown.stage("prove")
    shown.count("compiling PDFs", 14, 27)
    text = screen.getvalue()
    assert "\r[1/2] toy-111: prove" in text and text.endswith("[1/2] toy-111: prove · compiling PDFs 14/27")
    shown.count("compiling PDFs", 27, 27)  # done: the counter goes, the cursor ends after the shorter line
    assert screen.getvalue().endswith("\r[1/2] toy-111: prove")
    shown.clear()
    assert screen.getvalue().endswith("\r" + " " * len("[1/2] toy-111: prove") + "\r")
    assert Progress(Terminal(), enabled=False).enabled is False  # --quiet


def test_stages_add_up_and_print_in_pipeline_order():
    stages = Stages()
    with stages("render"):
        pass
    with stages("derive"):
        pass
    with stages("derive"):
        pass
    assert set(stages) == {"derive", "render"} and all(v >= 0 for v in stages.values())
    assert stages.line().startswith("derive ") and ", render " in stages.line()
    assert STAGES.index("derive") < STAGES.index("prove") < STAGES.index("render") < STAGES.index("compile")


def test_each_spec_is_reported_as_soon_as_its_files_are_written(tmp_path, monkeypatch):
    events = []
    real = derive.builder.artefacts

    def recording(spec, *args, **kwargs):
        events.append(f"derive {spec.name}")
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(derive.builder, "artefacts", recording)

    def report(result):
        assert (result.folder / "gradients.py").is_file()  # written before it is reported
        events.append(f"done {result.spec.name}")

    results = build(TWO, tmp_path, pdf=False, on_result=report)
    assert events == ["derive toy-111", "done toy-111", "derive mazur-222", "done mazur-222"]
    for r in results:
        assert {"parse", "derive", "emit", "load", "check", "prove", "render", "write"} <= set(r.stages)


def test_pdfs_compile_in_the_background_within_jobs_and_are_counted(tmp_path, monkeypatch):
    running, most = [0], [0]
    lock = threading.Lock()

    def fake_compile(text, name, single_pass=False):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.02)
        with lock:
            running[0] -= 1
        return b"%PDF-1.5 " + name.encode()

    monkeypatch.setattr(derive.builder, "have_latex", lambda: True)
    monkeypatch.setattr(derive.builder, "compile_text", fake_compile)
    screen = Terminal()
    order = []
    for jobs in (1, 3):
        most[0] = 0
        results = build(TWO, tmp_path / str(jobs), workers=jobs, progress=Progress(screen), force=True,
                        on_result=lambda r: order.append(r.spec.name))
        assert most[0] <= jobs
        for r in results:
            assert (r.folder / "handout.pdf").read_bytes() == b"%PDF-1.5 handout.tex"
            assert r.stages["compile"] >= 0
    assert order == ["toy-111", "mazur-222"] * 2  # in the order given, whichever finished first
    counts = re.findall(r"compiling PDFs (\d+)/(\d+)", screen.getvalue())
    assert counts and all(int(done) < int(total) <= 6 for done, total in counts)


def test_quiet_prints_nothing_and_timings_name_every_stage(tmp_path, capsys):
    assert main(["build", str(TWO[0]), "--out", str(tmp_path), "--no-pdf", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert main(["build", str(TWO[0]), "--out", str(tmp_path), "--no-pdf", "--force", "--timings", "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("toy-111: ")
    line = captured.err.strip()
    assert line.startswith("toy-111: timings: import ")
    for stage in ("parse", "derive", "emit", "load", "check", "answers", "prove", "render", "write"):
        assert f" {stage} " in line
    assert "\r" not in captured.err  # not a terminal: no status line
