"""The repository stands on its own, and its documents agree with it and with its history."""

import re
import subprocess
from pathlib import Path

from messenger.tests.environment import ROOT, tracked_files

# `../` paths in tracked files that are data, not references: the path-traversal example that the
# upload name sanitiser turns into a plain name (docs/media.md, media/filenames.py and its tests),
# and the hostile JWT `kid` that the key ring must not treat as a path (accounts/tests/jwt_forge.py).
TRAVERSAL_EXAMPLES = {"../../etc/passwd.jpg", "../../../../dev/null"}
CLIMBING_PATH = re.compile(r"(?<![\w./])(?:\.\./)+[\w.-][\w./-]*")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Absolute paths into the machines this project is developed on.
WORKSPACE_PATH = re.compile(r"/work/\w")


def tracked_text() -> dict[Path, str]:
    texts = {}
    for path in tracked_files():
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
    return texts


def inside_repository(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


class TestSelfContained:
    def test_no_tracked_file_points_outside_the_repository(self):
        outside = []
        for path, text in tracked_text().items():
            for match in CLIMBING_PATH.finditer(text):
                if match[0] not in TRAVERSAL_EXAMPLES and not inside_repository(path.parent / match[0]):
                    outside.append(f"{path.relative_to(ROOT)}: {match[0]}")
            outside += [f"{path.relative_to(ROOT)}: {m[0]}…" for m in WORKSPACE_PATH.finditer(text)]
        assert not outside, outside

    def test_relative_links_in_documents_resolve_to_tracked_files(self):
        tracked = set(tracked_files())
        broken = []
        for path, text in tracked_text().items():
            if path.suffix != ".md":
                continue
            for target in MARKDOWN_LINK.findall(text):
                if re.match(r"[a-z]+:", target) or target.startswith("#"):
                    continue  # a URL, or an anchor in the same document
                resolved = (path.parent / target.split("#", 1)[0]).resolve()
                if resolved not in tracked and not (resolved.is_dir() and inside_repository(resolved)):
                    broken.append(f"{path.relative_to(ROOT)}: {target}")
        assert not broken, broken

    def test_the_checks_see_what_they_look_for(self, tmp_path):
        """The patterns above match the links they exist to catch."""
        readme = ROOT / "README.md"
        assert not inside_repository(readme.parent / CLIMBING_PATH.search("see `../shared/STYLE.md`")[0])
        assert inside_repository(ROOT / "docs" / CLIMBING_PATH.search("[x](../README.md)")[0])
        assert MARKDOWN_LINK.findall("[style](../shared/STYLE.md) and [a](https://x.org)") == [
            "../shared/STYLE.md",
            "https://x.org",
        ]
        assert WORKSPACE_PATH.search("/wo" + "rk/main/")  # built, or this file would match itself

    def test_contributors_guide_is_in_the_repository_and_linked(self):
        assert (ROOT / "CONTRIBUTING.md") in set(tracked_files())
        assert "](CONTRIBUTING.md)" in (ROOT / "README.md").read_text()


class TestBenchmarkFigures:
    """The README's and bench/RESULTS.md's figures name the commit they measured, the same one."""

    @staticmethod
    def named_commits() -> dict[str, str]:
        readme = (ROOT / "README.md").read_text()
        performance = readme.split("## Performance", 1)[1].split("\n## ", 1)[0]
        named = {"README.md": re.findall(r"measured on\s+commit `([0-9a-f]{7,40})`", performance)}
        for document in ("bench/RESULTS.md", "bench/README.md"):
            named[document] = re.findall(r"Code: ([0-9a-f]{7,40})\.", (ROOT / document).read_text())
        for document, commits in named.items():
            assert len(commits) == 1, f"{document} names {commits or 'no commit'} (one clean commit, no diff digest)"
        return {document: commits[0] for document, commits in named.items()}

    def test_every_document_names_the_same_commit(self):
        assert len(set(self.named_commits().values())) == 1, self.named_commits()

    def test_the_commit_is_in_this_branchs_history(self):
        commit = self.named_commits()["README.md"]
        shallow = git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        assert not shallow, "needs the full history: git fetch --unshallow"
        assert git("cat-file", "-e", f"{commit}^{{commit}}").returncode == 0, f"{commit} is not a commit here"
        assert git("merge-base", "--is-ancestor", commit, "HEAD").returncode == 0, f"{commit} is not in HEAD's history"

    def test_the_readme_shows_how_to_list_what_changed_since(self):
        commit = self.named_commits()["README.md"]
        command = f"git log --oneline {commit}..HEAD -- accounts chats media messenger requirements.txt"
        assert f"`{command}`" in (ROOT / "README.md").read_text()
        assert git(*command.split()[1:]).returncode == 0
