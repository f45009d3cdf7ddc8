<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>Format</name>
    <message>
        <source>%1 B</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 KiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 TiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 K</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 M</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 B</source>
        <comment>billions of parameters</comment>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Worker</name>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::ChartsPanel</name>
    <message>
        <source>planned weights</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>largest-layer reserve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>runtime headroom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>limit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>map entries in execution order</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 on %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::DetailPane</name>
    <message>
        <source>Tensor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shape</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dtype</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a module to see its tensors and why it is where it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 parameters, %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Why: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not stored (non-persistent buffer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tied (stored once)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(buffer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 → %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Showing %1 of %2 tensors.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::DevicePanel</name>
    <message>
        <source>Use the hardware profile %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hardware profile:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a profile…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Limit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This build finds no CUDA GPU. Add simulated GPUs or choose a hardware profile to plan for a machine you do not have.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add simulated GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load dtype:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Strategy:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>as stored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>auto and balanced spread the model evenly over the GPUs; balanced_low_0 keeps GPU 0 light for generation; sequential fills each GPU in turn.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute a device map for these limits (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A simulated GPU: a separate CPU memory arena with this capacity.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n map entries, %1 in total.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>No plan yet: press Plan.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::Document</name>
    <message>
        <source>Set the limit of %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add simulated GPU %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set the dtype to %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>as stored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change the no-split classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set the strategy to %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pin %1 to %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unpin %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU %1 (simulated)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MPS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Move %1 to %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Move %n modules to %1</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Pinned to %1 by you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Moved to %1 by you; the plan put it on %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Moved to %1 by you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Its parts are on %n devices.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Import %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::MainWindow</name>
    <message>
        <source>Opening %1…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2 shards</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 — Mizan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a checkpoint folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Shift+O</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a checkpoint file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checkpoints (*.safetensors *.json);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import a device map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device map (*.json)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mizan plan (*.mizan.json);;JSON (*.json)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+E</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the device map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export max_memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>max_memory (*.json)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mizan plan (*.mizan.json)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Shift+C</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Python snippet copied to the clipboard.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Mizan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Mizan&lt;/b&gt; %1&lt;br/&gt;Plans device maps for checkpoints bigger than one GPU, matching Accelerate&apos;s infer_auto_device_map.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;recent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Move to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pin to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device map JSON…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export device map…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>max_memory JSON…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Save plan…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy Python snippet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unpin</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter modules…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Expand selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Collapse all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute a device map for these limits (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About Mizan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Devices and limits</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No-split classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory per device and per layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;opened&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter by module name or class…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Severity</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Module</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Suggested fix</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mizan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Note</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (%2 errors, %3 warnings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device map is valid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open a checkpoint, a config.json or a preset to begin.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2 parameters, %3, %4 modules</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>config only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>opened in %1 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>planning…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Move to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pin to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot import</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::ModuleTreeModel</name>
    <message>
        <source>mixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>split: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, </source>
        <comment>list separator</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Module</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Class</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dtype</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::NoSplitPanel</name>
    <message>
        <source>Modules of a checked class are never split across devices. The model&apos;s defaults are in bold.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset to the model&apos;s defaults</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: a default no-split class of this architecture</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>mizan::gui::StartPage</name>
    <message>
        <source>%1  —  %2 parameters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (%2), from %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mizan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan where every layer of a model goes when it does not fit on one GPU: open a checkpoint, set the memory of each device, and get a device map for transformers and Accelerate.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open checkpoint folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Recent&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Model presets&lt;/b&gt; (from config.json alone)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Or drop a folder, a .safetensors file, an index or a config.json here.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
