/**
 * The panel's page: toolbar with the run picker and controls, notice line, run summary, continual
 * section, charts, "Compare runs", architecture, grow events and their detail, and the tooltip.
 * The sections' code finds its elements by these ids.
 */
export const SKELETON = `
<header class="toolbar">
  <div class="run-picker">
    <label for="run-select">Run</label>
    <vscode-single-select id="run-select" aria-label="Run"></vscode-single-select>
    <vscode-badge id="run-status" variant="default"></vscode-badge>
  </div>
  <div class="controls" role="toolbar" aria-label="Run controls">
    <span class="group" id="run-buttons"></span>
    <span class="group">
      <vscode-single-select id="grow-method" aria-label="Growth method"></vscode-single-select>
      <vscode-button id="btn-grow" title="Grow the model now with the chosen method">Grow now</vscode-button>
    </span>
    <span class="group">
      <vscode-single-select id="prune-method" aria-label="Pruning method"></vscode-single-select>
      <vscode-button id="btn-prune" secondary title="Remove neurons now with the chosen method">Prune</vscode-button>
    </span>
    <vscode-button id="btn-export" secondary title="Export the model of the latest checkpoint">Export</vscode-button>
  </div>
</header>
<p id="notice" class="notice" role="status" hidden></p>
<section class="summary" aria-label="Run summary"><dl id="summary"></dl></section>
<section id="continual" class="continual-section" aria-label="Continual learning" hidden></section>
<section class="charts" aria-label="Charts">
  <figure class="chart"><figcaption>Loss</figcaption><div class="canvas-box"><canvas id="chart-loss" aria-label="Train and test loss against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Accuracy</figcaption><div class="canvas-box"><canvas id="chart-accuracy" aria-label="Train and test accuracy against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Parameters</figcaption><div class="canvas-box"><canvas id="chart-params" aria-label="Parameter count against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Throughput</figcaption><div class="canvas-box"><canvas id="chart-throughput" aria-label="Samples per second against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Learning rate</figcaption><div class="canvas-box"><canvas id="chart-lr" aria-label="Learning rate against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Test accuracy against parameters (all runs)</figcaption><div class="canvas-box"><canvas id="chart-comparison" aria-label="Test accuracy against parameter count for every run" role="img"></canvas></div></figure>
</section>
<section class="compare-section" id="compare" aria-labelledby="compare-title"></section>
<section class="arch-section" aria-label="Architecture">
  <h2 id="arch-title">Architecture</h2>
  <div id="arch-timeline" class="arch-timeline"></div>
  <ul id="arch-legend" class="legend"></ul>
  <div id="arch" class="arch-host"></div>
  <div id="layer-detail" class="layer-detail" aria-live="polite"></div>
  <div id="arch-tracks" class="track-charts"></div>
</section>
<section class="grow-section">
  <div class="timeline-box">
    <h2>Grow events</h2>
    <ol id="timeline" class="timeline" aria-label="Grow and prune events"></ol>
  </div>
  <div class="detail" id="detail" aria-live="polite">
    <h2 id="detail-title">No grow event yet</h2>
    <dl id="detail-stats" class="stats"></dl>
    <div class="canvas-box scores"><canvas id="chart-scores" aria-label="Selected candidates' scores next to the best rejected ones" role="img"></canvas></div>
    <table id="detail-layers" class="layers"></table>
  </div>
</section>
<div id="tip" class="tip" role="tooltip" hidden></div>
`;
