"""``DependencyDialog``: the user picks Light or Full, consents, and watches pip run.

Shown only on request (menu "Install dependencies…", or the button of the dock's
missing-dependency notice). pip runs in a QProcess (through ``deps_pip.py``, by QGIS's own
Python) so QGIS stays responsive; its output is streamed into the dialog. The command comes
from ``deps_installer``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qgis.PyQt.QtCore import QProcess, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .. import deps_installer
from ..deps import describe_missing, missing_groups
from ..translation import tr

logger = logging.getLogger(__name__)


class DependencyDialog(QDialog):
    """Two choices (Light, Full), an Install button, a busy bar and pip's log.

    Signals:
        installed(str): pip finished successfully; the target folder.
    """

    installed = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None, target: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ForestGapsDependencyDialog")
        self.setWindowTitle(tr("ForestGaps dependencies"))
        self.target = target or deps_installer.install_target()
        self.process: QProcess | None = None
        self.exit_code: int | None = None
        layout = QVBoxLayout(self)
        self.status_label = QLabel(describe_missing(missing_groups()))
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.choices = QButtonGroup(self)
        self.choice_buttons: dict[str, QRadioButton] = {}
        for name, install_set in deps_installer.INSTALL_SETS.items():
            button = QRadioButton(tr(install_set.title))
            button.setObjectName(f"choice_{name}")
            self.choices.addButton(button)
            self.choice_buttons[name] = button
            missing = install_set.missing_requirements()
            will_install = (
                tr("Will install: {0}.").format(", ".join(missing))
                if missing
                else tr("Already installed.")
            )
            details = QLabel(
                f"{tr(install_set.purpose)} {tr(install_set.size_note)} {will_install}"
            )
            details.setWordWrap(True)
            details.setObjectName(f"details_{name}")
            layout.addWidget(button)
            layout.addWidget(details)
        self.choice_buttons["light"].setChecked(True)
        target_label = QLabel(
            tr("Packages go into {0}, for every QGIS profile (delete that folder to undo). "
               "Packages QGIS already has, such as numpy and GDAL, are not installed again "
               "and stay the ones QGIS uses.").format(self.target)
        )  # fmt: skip
        target_label.setWordWrap(True)
        layout.addWidget(target_label)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        layout.addWidget(self.progress_bar)
        self.log_pane = QPlainTextEdit()
        self.log_pane.setReadOnly(True)
        self.log_pane.setObjectName("pipLog")
        layout.addWidget(self.log_pane)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.install_button = QPushButton(tr("Install"))
        self.install_button.setObjectName("installButton")
        self.buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.install_button.clicked.connect(self.install_selected)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(560, 520)

    def selected_set(self) -> str:
        """``light`` or ``full``."""
        for name, button in self.choice_buttons.items():
            if button.isChecked():
                return name
        return "light"

    def log(self, text: str) -> None:
        """Append lines to the log pane."""
        self.log_pane.appendPlainText(text.rstrip("\n"))

    def install_selected(self) -> bool:
        """Build the pip command of the selected set and start it.

        Returns:
            True when pip started; False when there is nothing to do or no Python.
        """
        try:
            command = deps_installer.command_for_set(self.selected_set(), self.target)
        except deps_installer.InstallerError as error:
            self.log(f"{error.message}: {error.hint}")
            return False
        return self.start_install(command)

    def start_install(self, command: list[str]) -> bool:
        """Run ``command`` (program first) in a QProcess, streaming its output here."""
        if self.process is not None:
            self.log(tr("An installation is already running."))
            return False
        self.target.mkdir(parents=True, exist_ok=True)
        self.exit_code = None
        self.log("$ " + " ".join(command))
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._failed_to_start)
        self.process = process
        self.install_button.setEnabled(False)
        self.progress_bar.setRange(0, 0)  # busy: pip gives no overall fraction
        process.start(command[0], command[1:])
        return True

    def _read_output(self) -> None:
        if self.process is not None:
            data = bytes(self.process.readAllStandardOutput())
            self.log(data.decode("utf-8", errors="replace"))

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.log(tr("pip could not be started: {0}").format(self.process.errorString()))
            self._done(-1)

    def _finished(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        self._read_output()
        self._done(exit_code)

    def _done(self, exit_code: int) -> None:
        if self.process is None:
            return
        self.process = None
        self.exit_code = exit_code
        self.progress_bar.setRange(0, 1)
        self.install_button.setEnabled(True)
        if exit_code != 0:
            self.progress_bar.setValue(0)
            self.log(
                tr("Installation failed (exit code {0}); QGIS and its packages are unchanged.")
                .format(exit_code)
            )
            return
        self.progress_bar.setValue(1)
        deps_installer.finish_install(self.target)
        self.status_label.setText(describe_missing(missing_groups()))
        self.log(
            tr("Installed into {0}. Restart QGIS if a compiled package (PyTorch) does not "
               "load at once.").format(self.target)
        )  # fmt: skip
        self.installed.emit(str(self.target))
