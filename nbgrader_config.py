"""nbgrader configuration of the course (source = labs/, student versions = release/)."""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

_root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = _root
c.CourseDirectory.course_id = "antispam-labs"
c.CourseDirectory.source_directory = "labs"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_root, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

c.Execute.timeout = 120
# Autograde's kernels print tracebacks in IPython's Minimal mode: the exception and its
# message only. In the default mode IPython quotes the lines around a failing assert, and
# in a graded cell those are other hidden tests, which would then show in the feedback
# even with ClearHiddenTests (docs/instructor-guide.md, section 5). The assert's message,
# which says why the points were lost, stays.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]
c.Validator.validate_all = False
