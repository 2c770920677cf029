/** Command ids and titles (pure: also checked against package.json by the unit tests). */
export const COMMAND_CATEGORY = 'Growth Lab';

export const COMMANDS = {
  startExperiment: 'growthLab.startExperiment',
  stopExperiment: 'growthLab.stopExperiment',
  pauseExperiment: 'growthLab.pauseExperiment',
  resumeExperiment: 'growthLab.resumeExperiment',
  restartBackend: 'growthLab.restartBackend',
  showLogs: 'growthLab.showLogs',
  openMonitor: 'growthLab.openMonitor',
  exportModel: 'growthLab.exportModel',
  growNetwork: 'growthLab.growNetwork',
  pruneNetwork: 'growthLab.pruneNetwork',
  newExperiment: 'growthLab.newExperiment',
  resumeRun: 'growthLab.resumeRun',
  openGrowEvent: 'growthLab.openGrowEvent',
  acceptProposal: 'growthLab.acceptProposal',
  rejectProposal: 'growthLab.rejectProposal',
  refreshExperiments: 'growthLab.refreshExperiments',
  installGpuBackend: 'growthLab.installGpuBackend',
  downloadDataset: 'growthLab.downloadDataset',
} as const;

/** The side panel: activity-bar container and its views (package.json contributes.viewsContainers / views). */
export const VIEWS = {
  container: 'growthLab',
  experiments: 'growthLab.experiments',
  liveMonitor: 'growthLab.liveMonitor',
} as const;

export const COMMAND_TITLES: Record<keyof typeof COMMANDS, string> = {
  startExperiment: 'Start Experiment',
  stopExperiment: 'Stop Experiment',
  pauseExperiment: 'Pause Experiment',
  resumeExperiment: 'Resume Experiment',
  restartBackend: 'Restart Backend',
  showLogs: 'Show Backend Logs',
  openMonitor: 'Open Monitor',
  exportModel: 'Export Model',
  growNetwork: 'Grow Network',
  pruneNetwork: 'Prune Network',
  newExperiment: 'New Experiment',
  resumeRun: 'Resume Failed Run',
  openGrowEvent: 'Review Grow Step',
  acceptProposal: 'Accept Proposed Growth',
  rejectProposal: 'Reject Proposed Growth',
  refreshExperiments: 'Refresh Experiments',
  installGpuBackend: 'Install GPU Backend',
  downloadDataset: 'Download Dataset',
};
