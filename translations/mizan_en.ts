<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>Format</name>
    <message>
        <source>%1 B</source>
        <translation>%1 B</translation>
    </message>
    <message>
        <source>%1 KiB</source>
        <translation>%1 KiB</translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation>%1 MiB</translation>
    </message>
    <message>
        <source>%1 GiB</source>
        <translation>%1 GiB</translation>
    </message>
    <message>
        <source>%1 TiB</source>
        <translation>%1 TiB</translation>
    </message>
    <message>
        <source>%1 K</source>
        <translation>%1 K</translation>
    </message>
    <message>
        <source>%1 M</source>
        <translation>%1 M</translation>
    </message>
    <message>
        <source>%1 B</source>
        <comment>billions of parameters</comment>
        <translation>%1 B</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>%1 us</source>
        <translation>%1 µs</translation>
    </message>
</context>
<context>
    <name>MessageText</name>
    <message>
        <source>fits on %1: needs %2</source>
        <translation>fits on %1: needs %2</translation>
    </message>
    <message>
        <source>fits on %1: needs %2, %3 was free</source>
        <translation>fits on %1: needs %2, %3 was free</translation>
    </message>
    <message>
        <source>fits on %1: needs %2 after reserving %3 for the largest layer</source>
        <translation>fits on %1: needs %2 after reserving %3 for the largest layer</translation>
    </message>
    <message>
        <source>fits on %1: needs %2, %3 was free after reserving %4 for the largest layer</source>
        <translation>fits on %1: needs %2, %3 was free after reserving %4 for the largest layer</translation>
    </message>
    <message>
        <source>did not fit on %1: %2 free, needs %3</source>
        <translation>did not fit on %1: %2 free, needs %3</translation>
    </message>
    <message>
        <source>did not fit on %1: %2 free after reserving %3 for the largest layer, needs %4</source>
        <translation>did not fit on %1: %2 free after reserving %3 for the largest layer, needs %4</translation>
    </message>
    <message>
        <source>placed on %1</source>
        <translation>placed on %1</translation>
    </message>
    <message>
        <source>forbidden on an earlier device by a pin</source>
        <translation>forbidden on an earlier device by a pin</translation>
    </message>
    <message>
        <source>pinned to %1 by the user</source>
        <translation>pinned to %1 by the user</translation>
    </message>
    <message>
        <source>tied to &quot;%1&quot;: placed with it on %2</source>
        <translation>tied to &quot;%1&quot;: placed with it on %2</translation>
    </message>
    <message>
        <source>tied to &quot;%1&quot;, which is pinned to %2</source>
        <translation>tied to &quot;%1&quot;, which is pinned to %2</translation>
    </message>
    <message>
        <source>all its parts went to %1: merged into one entry</source>
        <translation>all its parts went to %1: merged into one entry</translation>
    </message>
    <message>
        <source>&quot;%1&quot; did not fit on %2: %3 free, needs %4</source>
        <translation>&quot;%1&quot; did not fit on %2: %3 free, needs %4</translation>
    </message>
    <message>
        <source>&quot;%1&quot; did not fit on %2: %3 free after reserving %4 for the largest layer, needs %5</source>
        <translation>&quot;%1&quot; did not fit on %2: %3 free after reserving %4 for the largest layer, needs %5</translation>
    </message>
    <message>
        <source>fallback allocation: the largest remaining module that fits on %1, which nothing else fitted</source>
        <translation>fallback allocation: the largest remaining module that fits on %1, which nothing else fitted</translation>
    </message>
    <message>
        <source>part of &quot;%1&quot; on %2</source>
        <translation>part of &quot;%1&quot; on %2</translation>
    </message>
    <message>
        <source>part of the whole model, which the map puts on %1</source>
        <translation>part of the whole model, which the map puts on %1</translation>
    </message>
    <message>
        <source>split into children</source>
        <translation>split into children</translation>
    </message>
    <message>
        <source>split into children: it contains a pinned module or one forbidden on %1</source>
        <translation>split into children: it contains a pinned module or one forbidden on %1</translation>
    </message>
    <message>
        <source>the model is spread over several devices</source>
        <translation>the model is spread over several devices</translation>
    </message>
    <message>
        <source>parts on %1</source>
        <translation>parts on %1</translation>
    </message>
    <message>
        <source>no-split class &quot;%1&quot; does not occur in the model</source>
        <translation>no-split class &quot;%1&quot; does not occur in the model</translation>
    </message>
    <message>
        <source>tied parameters &quot;%1&quot; and &quot;%2&quot; are pinned to different devices (%3, %4)</source>
        <translation>tied parameters &quot;%1&quot; and &quot;%2&quot; are pinned to different devices (%3, %4)</translation>
    </message>
    <message>
        <source>runtime headroom: the reservation did not settle after %1 re-plans; check the per-GPU headroom</source>
        <translation>runtime headroom: the reservation did not settle after %1 re-plans; check the per-GPU headroom</translation>
    </message>
    <message>
        <source>The model needs %1 of buffers for offloaded layers, which does not seem to fit in any GPU&apos;s remaining memory. If you run out of memory later, consider offload_buffers=True.</source>
        <translation>The model needs %1 of buffers for offloaded layers, which does not seem to fit in any GPU&apos;s remaining memory. If you run out of memory later, consider offload_buffers=True.</translation>
    </message>
    <message>
        <source>With this allocation, no module could be assigned to the following devices for lack of memory:</source>
        <translation>With this allocation, no module could be assigned to the following devices for lack of memory:</translation>
    </message>
    <message>
        <source>%1: %2 required</source>
        <translation>%1: %2 required</translation>
    </message>
    <message>
        <source>These minimums are specific to this allocation and may vary. Consider giving these devices at least that much memory, or adjusting the model config.</source>
        <translation>These minimums are specific to this allocation and may vary. Consider giving these devices at least that much memory, or adjusting the model config.</translation>
    </message>
    <message>
        <source>&quot;%1&quot; appears twice in the map (%2 and %3)</source>
        <translation>&quot;%1&quot; appears twice in the map (%2 and %3)</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is inside &quot;%2&quot;, which already has a device</source>
        <translation>&quot;%1&quot; is inside &quot;%2&quot;, which already has a device</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is inside the whole model, which already has a device</source>
        <translation>&quot;%1&quot; is inside the whole model, which already has a device</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a module or tensor of this model</source>
        <translation>&quot;%1&quot; is not a module or tensor of this model</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is mapped to %2, which the device limits do not list</source>
        <translation>&quot;%1&quot; is mapped to %2, which the device limits do not list</translation>
    </message>
    <message>
        <source>no device for 1 tensor: %1</source>
        <translation>no device for 1 tensor: %1</translation>
    </message>
    <message>
        <source>no device for %1 tensors: %2</source>
        <translation>no device for %1 tensors: %2</translation>
    </message>
    <message>
        <source>no device for %1 tensors: %2, …</source>
        <translation>no device for %1 tensors: %2, …</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is tied to &quot;%2&quot; but is on %3 while it is on %4</source>
        <translation>&quot;%1&quot; is tied to &quot;%2&quot; but is on %3 while it is on %4</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is on %2, which a pin forbids for it</source>
        <translation>&quot;%1&quot; is on %2, which a pin forbids for it</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is pinned to %2 but the map puts it on %3</source>
        <translation>&quot;%1&quot; is pinned to %2 but the map puts it on %3</translation>
    </message>
    <message>
        <source>&quot;%1&quot; (class %2, never split) has parts on %3 devices</source>
        <translation>&quot;%1&quot; (class %2, never split) has parts on %3 devices</translation>
    </message>
    <message>
        <source>%1 is over its limit by %2 bytes (%3 planned, %4 available)</source>
        <translation>%1 is over its limit by %2 bytes (%3 planned, %4 available)</translation>
    </message>
    <message>
        <source>%1 is over its limit by %2 bytes (%3 planned, %4 available after %5 runtime headroom)</source>
        <translation>%1 is over its limit by %2 bytes (%3 planned, %4 available after %5 runtime headroom)</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is on disk although the CPU has %2 free after keeping room for the largest disk entry (it needs %3)</source>
        <translation>&quot;%1&quot; is on disk although the CPU has %2 free after keeping room for the largest disk entry (it needs %3)</translation>
    </message>
    <message>
        <source>%1 holds nothing while %2 holds modules</source>
        <translation>%1 holds nothing while %2 holds modules</translation>
    </message>
    <message>
        <source>keep one entry for &quot;%1&quot;</source>
        <translation>keep one entry for &quot;%1&quot;</translation>
    </message>
    <message>
        <source>remove the entry or correct the name</source>
        <translation>remove the entry or correct the name</translation>
    </message>
    <message>
        <source>did you mean &quot;%1&quot;?</source>
        <translation>did you mean &quot;%1&quot;?</translation>
    </message>
    <message>
        <source>move it to a listed device or add a limit for %1</source>
        <translation>move it to a listed device or add a limit for %1</translation>
    </message>
    <message>
        <source>remove one of the two entries</source>
        <translation>remove one of the two entries</translation>
    </message>
    <message>
        <source>give their module (or a parent) a device</source>
        <translation>give their module (or a parent) a device</translation>
    </message>
    <message>
        <source>put both on the same device</source>
        <translation>put both on the same device</translation>
    </message>
    <message>
        <source>move it to another device</source>
        <translation>move it to another device</translation>
    </message>
    <message>
        <source>move it to %1 or remove the pin</source>
        <translation>move it to %1 or remove the pin</translation>
    </message>
    <message>
        <source>map &quot;%1&quot; as one entry</source>
        <translation>map &quot;%1&quot; as one entry</translation>
    </message>
    <message>
        <source>move modules from %1 to a device with room</source>
        <translation>move modules from %1 to a device with room</translation>
    </message>
    <message>
        <source>move it to the CPU: disk is much slower</source>
        <translation>move it to the CPU: disk is much slower</translation>
    </message>
    <message>
        <source>move the first modules to %1</source>
        <translation>move the first modules to %1</translation>
    </message>
    <message>
        <source>pin &quot;%1&quot;: the model has no module or tensor of that name</source>
        <translation>pin &quot;%1&quot;: the model has no module or tensor of that name</translation>
    </message>
    <message>
        <source>pin &quot;%1&quot; to %2: that device has no limit (the limits list %3)</source>
        <translation>pin &quot;%1&quot; to %2: that device has no limit (the limits list %3)</translation>
    </message>
    <message>
        <source>cannot pin &quot;%1&quot;: it is part of &quot;%2&quot; (class %3, never split); pin &quot;%2&quot; instead</source>
        <translation>cannot pin &quot;%1&quot;: it is part of &quot;%2&quot; (class %3, never split); pin &quot;%2&quot; instead</translation>
    </message>
    <message>
        <source>the pins of &quot;%1&quot; and &quot;%2&quot; overlap: pin each module once</source>
        <translation>the pins of &quot;%1&quot; and &quot;%2&quot; overlap: pin each module once</translation>
    </message>
    <message>
        <source>the pins contradict: &quot;%1&quot; is pinned to %2 but &quot;%3&quot; is forbidden there</source>
        <translation>the pins contradict: &quot;%1&quot; is pinned to %2 but &quot;%3&quot; is forbidden there</translation>
    </message>
    <message>
        <source>the pins need %1 on %2 but its limit is %3: over by %4 bytes</source>
        <translation>the pins need %1 on %2 but its limit is %3: over by %4 bytes</translation>
    </message>
    <message>
        <source>the pins need %1 on %2 but its limit is %3 (%4 after the runtime headroom): over by %5 bytes</source>
        <translation>the pins need %1 on %2 but its limit is %3 (%4 after the runtime headroom): over by %5 bytes</translation>
    </message>
    <message>
        <source>&quot;%1&quot; %2</source>
        <translation>&quot;%1&quot; %2</translation>
    </message>
    <message>
        <source>, </source>
        <comment>separates the items of a list of devices or names</comment>
        <translation>, </translation>
    </message>
    <message>
        <source>; </source>
        <comment>separates the sentences of one explanation</comment>
        <translation>; </translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>an explanation followed by its details</comment>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>__metadata__ has no &quot;format&quot; entry (transformers expects &quot;pt&quot;)</source>
        <translation>__metadata__ has no &quot;format&quot; entry (transformers expects &quot;pt&quot;)</translation>
    </message>
    <message>
        <source>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;: the tensors may not be in PyTorch layout</source>
        <translation>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;: the tensors may not be in PyTorch layout</translation>
    </message>
    <message>
        <source>%1: __metadata__ has no &quot;format&quot; entry (transformers expects &quot;pt&quot;)</source>
        <translation>%1: __metadata__ has no &quot;format&quot; entry (transformers expects &quot;pt&quot;)</translation>
    </message>
    <message>
        <source>%1: __metadata__ format is &quot;%2&quot;, not &quot;pt&quot;: the tensors may not be in PyTorch layout</source>
        <translation>%1: __metadata__ format is &quot;%2&quot;, not &quot;pt&quot;: the tensors may not be in PyTorch layout</translation>
    </message>
    <message>
        <source>no repeated block structure found: no module class is kept whole</source>
        <translation>no repeated block structure found: no module class is kept whole</translation>
    </message>
    <message>
        <source>unknown architecture: the no-split class &quot;%1&quot; is a guess from the repeated numbered blocks</source>
        <translation>unknown architecture: the no-split class &quot;%1&quot; is a guess from the repeated numbered blocks</translation>
    </message>
    <message>
        <source>the checkpoint holds the bare base model: tensor names lack the &quot;%1.&quot; prefix of %2</source>
        <translation>the checkpoint holds the bare base model: tensor names lack the &quot;%1.&quot; prefix of %2</translation>
    </message>
    <message>
        <source>no config.json: module classes unknown, tree derived from tensor names</source>
        <translation>no config.json: module classes unknown, tree derived from tensor names</translation>
    </message>
    <message>
        <source>the checkpoint&apos;s tensors do not follow the %1 layout of the registry (%2 of %3 tensors matched): tree derived from tensor names</source>
        <translation>the checkpoint&apos;s tensors do not follow the %1 layout of the registry (%2 of %3 tensors matched): tree derived from tensor names</translation>
    </message>
    <message>
        <source>config.json does not describe a %1 model (%2): tree derived from tensor names</source>
        <translation>config.json does not describe a %1 model (%2): tree derived from tensor names</translation>
    </message>
    <message>
        <source>Mixtral checkpoint in the transformers 4.x layout (block_sparse_moe.experts.N): the tree follows it</source>
        <translation>Mixtral checkpoint in the transformers 4.x layout (block_sparse_moe.experts.N): the tree follows it</translation>
    </message>
    <message numerus="yes">
        <source>%1 shard(s) have no &quot;format&quot; in their __metadata__ (transformers expects &quot;pt&quot;): %2</source>
        <translation>
            <numerusform>%1 shard has no &quot;format&quot; in its __metadata__ (transformers expects &quot;pt&quot;): %2</numerusform>
            <numerusform>%1 shards have no &quot;format&quot; in their __metadata__ (transformers expects &quot;pt&quot;): %2</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 shard(s) have no &quot;format&quot; in their __metadata__ (transformers expects &quot;pt&quot;): %2 and %3 more</source>
        <translation>
            <numerusform>%1 shard has no &quot;format&quot; in its __metadata__ (transformers expects &quot;pt&quot;): %2 and %3 more</numerusform>
            <numerusform>%1 shards have no &quot;format&quot; in their __metadata__ (transformers expects &quot;pt&quot;): %2 and %3 more</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shard(s): %3; the tensors may not be in PyTorch layout</source>
        <translation>
            <numerusform>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shard: %3; the tensors may not be in PyTorch layout</numerusform>
            <numerusform>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shards: %3; the tensors may not be in PyTorch layout</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shard(s): %3 and %4 more; the tensors may not be in PyTorch layout</source>
        <translation>
            <numerusform>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shard: %3 and %4 more; the tensors may not be in PyTorch layout</numerusform>
            <numerusform>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shards: %3 and %4 more; the tensors may not be in PyTorch layout</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 non-persistent buffer(s) saved in the checkpoint (causal masks, rotary inv_freq) are ignored, as transformers does</source>
        <translation>
            <numerusform>%1 non-persistent buffer saved in the checkpoint (causal masks, rotary inv_freq) is ignored, as transformers does</numerusform>
            <numerusform>%1 non-persistent buffers saved in the checkpoint (causal masks, rotary inv_freq) are ignored, as transformers does</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 tensor(s) of the model are missing from the checkpoint</source>
        <translation>
            <numerusform>%1 tensor of the model is missing from the checkpoint</numerusform>
            <numerusform>%1 tensors of the model are missing from the checkpoint</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 checkpoint tensor(s) are not part of the model</source>
        <translation>
            <numerusform>%1 checkpoint tensor is not part of the model</numerusform>
            <numerusform>%1 checkpoint tensors are not part of the model</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 tensor shape(s) differ from config.json</source>
        <translation>
            <numerusform>%1 tensor shape differs from config.json</numerusform>
            <numerusform>%1 tensor shapes differ from config.json</numerusform>
        </translation>
    </message>
    <message>
        <source>placed on %2 by the policy &quot;%1&quot;</source>
        <translation>placed on %2 by the policy &quot;%1&quot;</translation>
    </message>
    <message>
        <source>split by the policy &quot;%1&quot;</source>
        <translation>split by the policy &quot;%1&quot;</translation>
    </message>
    <message>
        <source>the rest kept together on %1</source>
        <translation>the rest kept together on %1</translation>
    </message>
    <message>
        <source>part of the rest of &quot;%1&quot;, kept together on %2 (a policy placed its other parts)</source>
        <translation>part of the rest of &quot;%1&quot;, kept together on %2 (a policy placed its other parts)</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a policy: write SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being class:CLASS, name:PATTERN, first:N, experts, experts:N or embeddings, or a built-in name (experts-on-cpu, embeddings-on-cpu)</source>
        <translation>&quot;%1&quot; is not a policy: write SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being class:CLASS, name:PATTERN, first:N, experts, experts:N or embeddings, or a built-in name (experts-on-cpu, embeddings-on-cpu)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; has a malformed pattern (empty, an unclosed &quot;{&quot;, or a range other than {A..B} with A &lt;= B)</source>
        <translation>the policy &quot;%1&quot; has a malformed pattern (empty, an unclosed &quot;{&quot;, or a range other than {A..B} with A &lt;= B)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: &quot;%2&quot; is not a device (use 0, 1, …, cpu, disk or mps)</source>
        <translation>the policy &quot;%1&quot;: &quot;%2&quot; is not a device (use 0, 1, …, cpu, disk or mps)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: no module of the model has that class; its classes: %2</source>
        <translation>the policy &quot;%1&quot;: no module of the model has that class; its classes: %2</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; matches no module or tensor of the model</source>
        <translation>the policy &quot;%1&quot; matches no module or tensor of the model</translation>
    </message>
    <message>
        <source>&quot;%1&quot; holds %2</source>
        <translation>&quot;%1&quot; holds %2</translation>
    </message>
    <message>
        <source>the model&apos;s top-level modules: %1</source>
        <translation>the model&apos;s top-level modules: %1</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: the model has no mixture-of-experts layers (no module named &quot;experts&quot;)</source>
        <translation>the policy &quot;%1&quot;: the model has no mixture-of-experts layers (no module named &quot;experts&quot;)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: the model has no embedding module</source>
        <translation>the policy &quot;%1&quot;: the model has no embedding module</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: the model has no decoder blocks (no module of a no-split class, no numbered list of modules)</source>
        <translation>the policy &quot;%1&quot;: the model has no decoder blocks (no module of a no-split class, no numbered list of modules)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; asks for the first %2 blocks but the model has %3</source>
        <translation>the policy &quot;%1&quot; asks for the first %2 blocks but the model has %3</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places modules on %2, which has no limit (the limits list %3)</source>
        <translation>the policy &quot;%1&quot; places modules on %2, which has no limit (the limits list %3)</translation>
    </message>
    <message>
        <source>the policies &quot;%1&quot; and &quot;%4&quot; both place &quot;%2&quot;: on %3 and on %5</source>
        <translation>the policies &quot;%1&quot; and &quot;%4&quot; both place &quot;%2&quot;: on %3 and on %5</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but it is pinned to %4</source>
        <translation>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but it is pinned to %4</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but &quot;%4&quot; is forbidden there</source>
        <translation>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but &quot;%4&quot; is forbidden there</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; forbids &quot;%2&quot; on %3 but &quot;%4&quot; is placed there</source>
        <translation>the policy &quot;%1&quot; forbids &quot;%2&quot; on %3 but &quot;%4&quot; is placed there</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: %3 in %2 entries</source>
        <translation>the policy &quot;%1&quot;: %3 in %2 entries</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but the map puts it on %4</source>
        <translation>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but the map puts it on %4</translation>
    </message>
    <message>
        <source>&quot;%2&quot; is on %3, which the policy &quot;%1&quot; forbids for it</source>
        <translation>&quot;%2&quot; is on %3, which the policy &quot;%1&quot; forbids for it</translation>
    </message>
    <message>
        <source>move it to %1 or remove the policy</source>
        <translation>move it to %1 or remove the policy</translation>
    </message>
    <message>
        <source>correct or remove the policy</source>
        <translation>correct or remove the policy</translation>
    </message>
</context>
<context>
    <name>Worker</name>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 (%2): %3</source>
        <translation>%1 (%2): %3</translation>
    </message>
    <message>
        <source>Cannot read or write the file</source>
        <translation>Cannot read or write the file</translation>
    </message>
    <message>
        <source>The file is cut short</source>
        <translation>The file is cut short</translation>
    </message>
    <message>
        <source>The file&apos;s header is too large</source>
        <translation>The file&apos;s header is too large</translation>
    </message>
    <message>
        <source>The file is not valid JSON</source>
        <translation>The file is not valid JSON</translation>
    </message>
    <message>
        <source>The file is not in the expected form</source>
        <translation>The file is not in the expected form</translation>
    </message>
    <message>
        <source>Unknown tensor data type</source>
        <translation>Unknown tensor data type</translation>
    </message>
    <message>
        <source>A tensor&apos;s shape does not match its bytes</source>
        <translation>A tensor&apos;s shape does not match its bytes</translation>
    </message>
    <message>
        <source>Tensor data lies outside its place</source>
        <translation>Tensor data lies outside its place</translation>
    </message>
    <message>
        <source>Two tensors share the same bytes</source>
        <translation>Two tensors share the same bytes</translation>
    </message>
    <message>
        <source>A shard of the checkpoint is missing</source>
        <translation>A shard of the checkpoint is missing</translation>
    </message>
    <message>
        <source>The index and its shards disagree</source>
        <translation>The index and its shards disagree</translation>
    </message>
    <message>
        <source>The model configuration is invalid</source>
        <translation>The model configuration is invalid</translation>
    </message>
    <message>
        <source>Not a format Mizan reads</source>
        <translation>Not a format Mizan reads</translation>
    </message>
    <message>
        <source>Invalid input</source>
        <translation>Invalid input</translation>
    </message>
    <message>
        <source>Invalid device map</source>
        <translation>Invalid device map</translation>
    </message>
    <message>
        <source>The constraints cannot be met</source>
        <translation>The constraints cannot be met</translation>
    </message>
    <message>
        <source>The plan does not match</source>
        <translation>The plan does not match</translation>
    </message>
    <message>
        <source>Not found</source>
        <translation>Not found</translation>
    </message>
    <message>
        <source>Out of memory on a device</source>
        <translation>Out of memory on a device</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Error</translation>
    </message>
</context>
<context>
    <name>mizan::gui::ChartsPanel</name>
    <message>
        <source>planned weights</source>
        <translation>planned weights</translation>
    </message>
    <message>
        <source>largest-layer reserve</source>
        <translation>largest-layer reserve</translation>
    </message>
    <message>
        <source>runtime headroom</source>
        <translation>runtime headroom</translation>
    </message>
    <message>
        <source>limit</source>
        <translation>limit</translation>
    </message>
    <message>
        <source>GiB</source>
        <translation>GiB</translation>
    </message>
    <message>
        <source>map entries in execution order</source>
        <translation>map entries in execution order</translation>
    </message>
    <message>
        <source>MiB</source>
        <translation>MiB</translation>
    </message>
    <message>
        <source>%1 on %2</source>
        <translation>%1 on %2</translation>
    </message>
    <message>
        <source>%1
of %2</source>
        <translation>%1
of %2</translation>
    </message>
    <message>
        <source>The charts show the plan: memory per device against its limit, and every map entry&apos;s size in execution order.</source>
        <translation>The charts show the plan: memory per device against its limit, and every map entry&apos;s size in execution order.</translation>
    </message>
</context>
<context>
    <name>mizan::gui::ClusterDialog</name>
    <message>
        <source>Cluster plan: %1</source>
        <translation>Cluster plan: %1</translation>
    </message>
    <message numerus="yes">
        <source>%1 on %Ln host(s), %2 decoder blocks cut into one pipeline stage per host.</source>
        <translation>
            <numerusform>%1 on %Ln host, %2 decoder blocks in one pipeline stage.</numerusform>
            <numerusform>%1 on %Ln hosts, %2 decoder blocks cut into one pipeline stage per host.</numerusform>
        </translation>
    </message>
    <message>
        <source>Predicted: about %1 per token, with %2 per token crossing each link between hosts.</source>
        <translation>Predicted: about %1 per token, with %2 per token crossing each link between hosts.</translation>
    </message>
    <message>
        <source>Hardware profile: %1.</source>
        <translation>Hardware profile: %1.</translation>
    </message>
    <message>
        <source>block %1</source>
        <translation>block %1</translation>
    </message>
    <message>
        <source>blocks %1–%2</source>
        <translation>blocks %1–%2</translation>
    </message>
    <message>
        <source>embeddings, %1</source>
        <translation>embeddings, %1</translation>
    </message>
    <message>
        <source>%1, final norm and head</source>
        <translation>%1, final norm and head</translation>
    </message>
    <message>
        <source>Host %1 — stage %2 of %3: %4</source>
        <translation>Host %1 — stage %2 of %3: %4</translation>
    </message>
    <message>
        <source>Host %1 (%2) — stage %3 of %4: %5</source>
        <translation>Host %1 (%2) — stage %3 of %4: %5</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 of %2</translation>
    </message>
    <message numerus="yes">
        <source>%Ln entry(s)</source>
        <translation>
            <numerusform>%Ln entry</numerusform>
            <numerusform>%Ln entries</numerusform>
        </translation>
    </message>
    <message>
        <source>Predicted for this stage: about %1 per token.</source>
        <translation>Predicted for this stage: about %1 per token.</translation>
    </message>
    <message>
        <source>Hosts</source>
        <translation>Hosts</translation>
    </message>
    <message>
        <source>Run on local ranks</source>
        <translation>Run on local ranks</translation>
    </message>
    <message>
        <source>&amp;Max new tokens:</source>
        <translation>&amp;Max new tokens:</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;Run</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Open the checkpoint this plan was made for (%1), with its weights, to run it here.</source>
        <translation>Open the checkpoint this plan was made for (%1), with its weights, to run it here.</translation>
    </message>
    <message>
        <source>The open checkpoint is not the one this plan was made for: %1</source>
        <translation>The open checkpoint is not the one this plan was made for: %1</translation>
    </message>
    <message>
        <source>This plan has a single host: run it from the Test inference page.</source>
        <translation>This plan has a single host: run it from the Test inference page.</translation>
    </message>
    <message>
        <source>&amp;Prompt:</source>
        <translation>&amp;Prompt:</translation>
    </message>
    <message>
        <source>&amp;Prompt (token ids):</source>
        <translation>&amp;Prompt (token ids):</translation>
    </message>
    <message>
        <source>Generated text</source>
        <translation>Generated text</translation>
    </message>
    <message>
        <source>Generated token ids</source>
        <translation>Generated token ids</translation>
    </message>
    <message>
        <source>Run every host&apos;s stage here, one local rank per host, joined over 127.0.0.1</source>
        <translation>Run every host&apos;s stage here, one local rank per host, joined over 127.0.0.1</translation>
    </message>
    <message numerus="yes">
        <source>Ready: Run starts %Ln local rank(s), one per host, each with its host&apos;s stage and devices.</source>
        <translation>
            <numerusform>Ready: Run starts %Ln local rank, one per host, with its host&apos;s stage and devices.</numerusform>
            <numerusform>Ready: Run starts %Ln local ranks, one per host, each with its host&apos;s stage and devices.</numerusform>
        </translation>
    </message>
    <message>
        <source>The run failed on %1: %2: %3</source>
        <translation>The run failed on %1: %2: %3</translation>
    </message>
    <message numerus="yes">
        <source>Done: %Ln token(s) generated by %1 local ranks, one per host.</source>
        <translation>
            <numerusform>Done: %Ln token generated by %1 local ranks, one per host.</numerusform>
            <numerusform>Done: %Ln tokens generated by %1 local ranks, one per host.</numerusform>
        </translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Close</translation>
    </message>
</context>
<context>
    <name>mizan::gui::CompareDialog</name>
    <message>
        <source>Compare plans</source>
        <translation>Compare plans</translation>
    </message>
    <message numerus="yes">
        <source>plan file, %Ln entries</source>
        <translation>
            <numerusform>plan file, %Ln entry</numerusform>
            <numerusform>plan file, %Ln entries</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>device map, %Ln entries</source>
        <translation>
            <numerusform>device map, %Ln entry</numerusform>
            <numerusform>device map, %Ln entries</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>A: the map on screen (%Ln entries)</source>
        <translation>
            <numerusform>A: the map on screen (%Ln entry)</numerusform>
            <numerusform>A: the map on screen (%Ln entries)</numerusform>
        </translation>
    </message>
    <message>
        <source>B: %1 (%2)</source>
        <translation>B: %1 (%2)</translation>
    </message>
    <message>
        <source>Predicted speed on this machine</source>
        <translation>Predicted speed on this machine</translation>
    </message>
    <message>
        <source>A</source>
        <translation>A</translation>
    </message>
    <message>
        <source>B</source>
        <translation>B</translation>
    </message>
    <message>
        <source>Time per token</source>
        <translation>Time per token</translation>
    </message>
    <message>
        <source>Tokens per second</source>
        <translation>Tokens per second</translation>
    </message>
    <message>
        <source>not predictable</source>
        <translation>not predictable</translation>
    </message>
    <message>
        <source>One of the maps leaves weights without a device: its speed cannot be predicted.</source>
        <translation>One of the maps leaves weights without a device: its speed cannot be predicted.</translation>
    </message>
    <message>
        <source>A and B decode at about the same speed.</source>
        <translation>A and B decode at about the same speed.</translation>
    </message>
    <message>
        <source>B decodes about %1x faster than A.</source>
        <translation>B decodes about %1x faster than A.</translation>
    </message>
    <message>
        <source>B decodes about %1x slower than A.</source>
        <translation>B decodes about %1x slower than A.</translation>
    </message>
    <message>
        <source>(Speeds assumed: run mizan-cli calibrate for this machine&apos;s.)</source>
        <translation>(Speeds assumed: run mizan-cli calibrate for this machine&apos;s.)</translation>
    </message>
    <message>
        <source>Memory per device</source>
        <translation>Memory per device</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Device</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>Change</translation>
    </message>
    <message>
        <source>Moved modules</source>
        <translation>Moved modules</translation>
    </message>
    <message numerus="yes">
        <source>Moved modules: %Ln, %1</source>
        <translation>
            <numerusform>Moved modules: %Ln, %1</numerusform>
            <numerusform>Moved modules: %Ln, %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Module</source>
        <translation>Module</translation>
    </message>
    <message>
        <source>In A</source>
        <translation>In A</translation>
    </message>
    <message>
        <source>In B</source>
        <translation>In B</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Size</translation>
    </message>
    <message>
        <source>(whole model)</source>
        <translation>(whole model)</translation>
    </message>
    <message>
        <source>No module moved: A and B place every weight alike.</source>
        <translation>No module moved: A and B place every weight alike.</translation>
    </message>
    <message>
        <source>The maps name modules differently (%1 keys only in A, %2 only in B); compared weight by weight.</source>
        <translation>The maps name modules differently (%1 keys only in A, %2 only in B); compared weight by weight.</translation>
    </message>
    <message>
        <source>A and B load the weights in different dtypes: bytes in A are sized as A loads them, in B as B does.</source>
        <translation>A and B load the weights in different dtypes: bytes in A are sized as A loads them, in B as B does.</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message>
        <source>Prompt of %1 tokens</source>
        <translation>Prompt of %1 tokens</translation>
    </message>
</context>
<context>
    <name>mizan::gui::DetailPane</name>
    <message>
        <source>Tensor</source>
        <translation>Tensor</translation>
    </message>
    <message>
        <source>Shape</source>
        <translation>Shape</translation>
    </message>
    <message>
        <source>Dtype</source>
        <translation>Dtype</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Size</translation>
    </message>
    <message>
        <source>Shard</source>
        <translation>Shard</translation>
    </message>
    <message>
        <source>Select a module to see its tensors and why it is where it is.</source>
        <translation>Select a module to see its tensors and why it is where it is.</translation>
    </message>
    <message>
        <source>%1 parameters, %2</source>
        <translation>%1 parameters, %2</translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation>Device: %1</translation>
    </message>
    <message>
        <source>Why: %1</source>
        <translation>Why: %1</translation>
    </message>
    <message>
        <source>not stored (non-persistent buffer)</source>
        <translation>not stored (non-persistent buffer)</translation>
    </message>
    <message>
        <source>tied (stored once)</source>
        <translation>tied (stored once)</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>missing</translation>
    </message>
    <message>
        <source>(buffer)</source>
        <translation>(buffer)</translation>
    </message>
    <message>
        <source>%1 → %2</source>
        <translation>%1 → %2</translation>
    </message>
    <message>
        <source>Showing %1 of %2 tensors.</source>
        <translation>Showing %1 of %2 tensors.</translation>
    </message>
</context>
<context>
    <name>mizan::gui::DevicePanel</name>
    <message>
        <source>Use the hardware profile %1</source>
        <translation>Use the hardware profile %1</translation>
    </message>
    <message>
        <source>Hardware profile:</source>
        <translation>Hardware profile:</translation>
    </message>
    <message>
        <source>Choose a profile…</source>
        <translation>Choose a profile…</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Device</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Limit</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Unit</translation>
    </message>
    <message>
        <source>Add simulated GPU</source>
        <translation>Add simulated GPU</translation>
    </message>
    <message>
        <source>Load dtype:</source>
        <translation>Load dtype:</translation>
    </message>
    <message>
        <source>Strategy:</source>
        <translation>Strategy:</translation>
    </message>
    <message>
        <source>as stored</source>
        <translation>as stored</translation>
    </message>
    <message>
        <source>auto and balanced spread the model evenly over the GPUs; balanced_low_0 keeps GPU 0 light for generation; sequential fills each GPU in turn.</source>
        <translation>auto and balanced spread the model evenly over the GPUs; balanced_low_0 keeps GPU 0 light for generation; sequential fills each GPU in turn.</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <source>Compute a device map for these limits (F5)</source>
        <translation>Compute a device map for these limits (F5)</translation>
    </message>
    <message>
        <source>A simulated GPU: a separate CPU memory arena with this capacity.</source>
        <translation>A simulated GPU: a separate CPU memory arena with this capacity.</translation>
    </message>
    <message>
        <source>GiB</source>
        <translation>GiB</translation>
    </message>
    <message>
        <source>GB</source>
        <translation>GB</translation>
    </message>
    <message>
        <source>MiB</source>
        <translation>MiB</translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation>Remove %1</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>unlimited</translation>
    </message>
    <message numerus="yes">
        <source>%Ln map entries, %1 in total.</source>
        <translation>
            <numerusform>%Ln map entry, %1 in total.</numerusform>
            <numerusform>%Ln map entries, %1 in total.</numerusform>
        </translation>
    </message>
    <message>
        <source>No plan yet: press Plan.</source>
        <translation>No plan yet: press Plan.</translation>
    </message>
    <message>
        <source>No CUDA GPU in this build: add simulated GPUs or choose a hardware profile.</source>
        <translation>No CUDA GPU in this build: add simulated GPUs or choose a hardware profile.</translation>
    </message>
    <message>
        <source>This machine (detected)</source>
        <translation>This machine (detected)</translation>
    </message>
    <message>
        <source>Generation headroom:</source>
        <translation>Generation headroom:</translation>
    </message>
    <message>
        <source>none</source>
        <translation>none</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> tokens</translation>
    </message>
    <message>
        <source>Keep room on every GPU for the KV cache and activations of this many tokens (prompt + generated).</source>
        <translation>Keep room on every GPU for the KV cache and activations of this many tokens (prompt + generated).</translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation>Batch size:</translation>
    </message>
    <message>
        <source>Sequences generated at once: the KV cache grows with it.</source>
        <translation>Sequences generated at once: the KV cache grows with it.</translation>
    </message>
    <message>
        <source>Looking for GPUs…</source>
        <translation>Looking for GPUs…</translation>
    </message>
    <message>
        <source>No CUDA GPU found (check the driver and CUDA_VISIBLE_DEVICES): add simulated GPUs or choose a hardware profile.</source>
        <translation>No CUDA GPU found (check the driver and CUDA_VISIBLE_DEVICES): add simulated GPUs or choose a hardware profile.</translation>
    </message>
    <message>
        <source>GPU %1: %2, %3 free of %4</source>
        <translation>GPU %1: %2, %3 free of %4</translation>
    </message>
    <message numerus="yes">
        <source>This machine has %Ln CUDA GPU(s):</source>
        <translation>
            <numerusform>This machine has %Ln CUDA GPU:</numerusform>
            <numerusform>This machine has %Ln CUDA GPUs:</numerusform>
        </translation>
    </message>
    <message>
        <source>%1: %2 free of %3 when Mizan started</source>
        <translation>%1: %2 free of %3 when Mizan started</translation>
    </message>
    <message>
        <source>Reserved per GPU: %1 for activations + %2 of KV cache per layer it holds.</source>
        <translation>Reserved per GPU: %1 for activations + %2 of KV cache per layer it holds.</translation>
    </message>
    <message>
        <source>Predicted on this machine: about %1 per token (%2 tokens/s), prompt of 32 tokens in %3.</source>
        <translation>Predicted on this machine: about %1 per token (%2 tokens/s), prompt of 32 tokens in %3.</translation>
    </message>
    <message numerus="yes">
        <source>%Ln steps offloaded (%1 from disk), %2 moved per token: about %3x slower than with every weight resident.</source>
        <translation>
            <numerusform>%Ln step offloaded (%1 from disk), %2 moved per token: about %3x slower than with every weight resident.</numerusform>
            <numerusform>%Ln steps offloaded (%1 from disk), %2 moved per token: about %3x slower than with every weight resident.</numerusform>
        </translation>
    </message>
    <message>
        <source>(Speeds assumed: run mizan-cli calibrate for this machine&apos;s.)</source>
        <translation>(Speeds assumed: run mizan-cli calibrate for this machine&apos;s.)</translation>
    </message>
</context>
<context>
    <name>mizan::gui::Document</name>
    <message>
        <source>Set the limit of %1</source>
        <translation>Set the limit of %1</translation>
    </message>
    <message>
        <source>Add simulated GPU %1</source>
        <translation>Add simulated GPU %1</translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation>Remove %1</translation>
    </message>
    <message>
        <source>Set the dtype to %1</source>
        <translation>Set the dtype to %1</translation>
    </message>
    <message>
        <source>as stored</source>
        <translation>as stored</translation>
    </message>
    <message>
        <source>Change the no-split classes</source>
        <translation>Change the no-split classes</translation>
    </message>
    <message>
        <source>Set the strategy to %1</source>
        <translation>Set the strategy to %1</translation>
    </message>
    <message>
        <source>Pin %1 to %2</source>
        <translation>Pin %1 to %2</translation>
    </message>
    <message>
        <source>Unpin %1</source>
        <translation>Unpin %1</translation>
    </message>
    <message>
        <source>GPU %1 (simulated)</source>
        <translation>GPU %1 (simulated)</translation>
    </message>
    <message>
        <source>GPU %1</source>
        <translation>GPU %1</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Disk</translation>
    </message>
    <message>
        <source>MPS</source>
        <translation>MPS</translation>
    </message>
    <message>
        <source>Plan (%1)</source>
        <translation>Plan (%1)</translation>
    </message>
    <message>
        <source>Move %1 to %2</source>
        <translation>Move %1 to %2</translation>
    </message>
    <message numerus="yes">
        <source>Move %Ln modules to %1</source>
        <translation>
            <numerusform>Move %Ln module to %1</numerusform>
            <numerusform>Move %Ln modules to %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Pinned to %1 by you.</source>
        <translation>Pinned to %1 by you.</translation>
    </message>
    <message>
        <source>Moved to %1 by you; the plan put it on %2.</source>
        <translation>Moved to %1 by you; the plan put it on %2.</translation>
    </message>
    <message>
        <source>Moved to %1 by you.</source>
        <translation>Moved to %1 by you.</translation>
    </message>
    <message numerus="yes">
        <source>Its parts are on %Ln devices.</source>
        <translation>
            <numerusform>Its parts are on %Ln device.</numerusform>
            <numerusform>Its parts are on %Ln devices.</numerusform>
        </translation>
    </message>
    <message>
        <source>Import %1</source>
        <translation>Import %1</translation>
    </message>
    <message>
        <source>Use this machine&apos;s devices</source>
        <translation>Use this machine&apos;s devices</translation>
    </message>
    <message numerus="yes">
        <source>Reserve headroom for %Ln tokens</source>
        <translation>
            <numerusform>Reserve headroom for %Ln token</numerusform>
            <numerusform>Reserve headroom for %Ln tokens</numerusform>
        </translation>
    </message>
    <message>
        <source>This model&apos;s config gives no hidden size, so no headroom can be reserved for it.</source>
        <translation>This model&apos;s config gives no hidden size, so no headroom can be reserved for it.</translation>
    </message>
    <message>
        <source>Open a checkpoint to run it.</source>
        <translation>Open a checkpoint to run it.</translation>
    </message>
    <message>
        <source>%1 describes a model without its weights: test inference needs a checkpoint with weights.</source>
        <translation>%1 describes a model without its weights: test inference needs a checkpoint with weights.</translation>
    </message>
    <message>
        <source>Wait for the plan.</source>
        <translation>Wait for the plan.</translation>
    </message>
    <message>
        <source>There is no device map to run yet.</source>
        <translation>There is no device map to run yet.</translation>
    </message>
    <message numerus="yes">
        <source>The device map has %Ln error(s): fix them (see Problems) to run it.</source>
        <translation>
            <numerusform>The device map has %Ln error: fix it (see Problems) to run it.</numerusform>
            <numerusform>The device map has %Ln errors: fix them (see Problems) to run it.</numerusform>
        </translation>
    </message>
    <message>
        <source>Add the policy %1</source>
        <translation>Add the policy %1</translation>
    </message>
    <message>
        <source>Remove the policy %1</source>
        <translation>Remove the policy %1</translation>
    </message>
</context>
<context>
    <name>mizan::gui::LiveView</name>
    <message>
        <source>another device</source>
        <translation>another device</translation>
    </message>
    <message>
        <source>%1 (simulated)</source>
        <comment>a simulated GPU</comment>
        <translation>%1 (simulated)</translation>
    </message>
    <message>
        <source>GPU %1</source>
        <translation>GPU %1</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Disk</translation>
    </message>
    <message>
        <source>MPS</source>
        <translation>MPS</translation>
    </message>
    <message>
        <source>simulated</source>
        <comment>badge on the lane of a simulated GPU</comment>
        <translation>simulated</translation>
    </message>
    <message>
        <source>nothing placed here</source>
        <translation>nothing placed here</translation>
    </message>
    <message>
        <source>Blocks light up as they compute. Weights brought to the device that runs them fly there and leave when released; dashed: prefetched.</source>
        <translation>Blocks light up as they compute. Weights brought to the device that runs them fly there and leave when released; dashed: prefetched.</translation>
    </message>
    <message>
        <source>%1 now, peak %2</source>
        <translation>%1 now, peak %2</translation>
    </message>
    <message>
        <source>%1 placed here</source>
        <translation>%1 placed here</translation>
    </message>
    <message>
        <source>The live view shows the devices of the plan once a test inference starts.</source>
        <translation>The live view shows the devices of the plan once a test inference starts.</translation>
    </message>
    <message>
        <source>%1: %2 brought from %3 to %4 ahead of its turn (prefetched)</source>
        <translation>%1: %2 brought from %3 to %4 ahead of its turn (prefetched)</translation>
    </message>
    <message>
        <source>%1: %2 brought from %3 to %4</source>
        <translation>%1: %2 brought from %3 to %4</translation>
    </message>
    <message>
        <source>%1: %2 on %3</source>
        <translation>%1: %2 on %3</translation>
    </message>
    <message>
        <source>Memory now: %1</source>
        <translation>Memory now: %1</translation>
    </message>
    <message>
        <source>Peak: %1</source>
        <translation>Peak: %1</translation>
    </message>
    <message>
        <source>Planned: %1</source>
        <translation>Planned: %1</translation>
    </message>
    <message>
        <source>Limit: %1</source>
        <translation>Limit: %1</translation>
    </message>
    <message>
        <source>token</source>
        <translation>token</translation>
    </message>
    <message>
        <source>ms</source>
        <translation>ms</translation>
    </message>
    <message>
        <source>time of the token</source>
        <translation>time of the token</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1%</source>
        <comment>a percentage</comment>
        <translation>%1%</translation>
    </message>
    <message>
        <source>No token was generated, so there is no time per token to explain.</source>
        <translation>No token was generated, so there is no time per token to explain.</translation>
    </message>
    <message>
        <source>%1 of each token is spent reading %2 from disk</source>
        <translation>%1 of each token is spent reading %2 from disk</translation>
    </message>
    <message>
        <source>%1 of each token is spent moving %2 from %3 to %4</source>
        <translation>%1 of each token is spent moving %2 from %3 to %4</translation>
    </message>
    <message>
        <source>%1 of each token is spent computing on %2</source>
        <translation>%1 of each token is spent computing on %2</translation>
    </message>
    <message>
        <source>%1; prefetch hid %2 of the transfers (%3 per token) behind the computation</source>
        <translation>%1; prefetch hid %2 of the transfers (%3 per token) behind the computation</translation>
    </message>
    <message>
        <source>%1.</source>
        <comment>ends the sentence saying where time went</comment>
        <translation>%1.</translation>
    </message>
    <message>
        <source>The run was cancelled.</source>
        <translation>The run was cancelled.</translation>
    </message>
    <message>
        <source>The run failed.</source>
        <translation>The run failed.</translation>
    </message>
    <message>
        <source>%1: computing %2</source>
        <translation>%1: computing %2</translation>
    </message>
    <message>
        <source>%1: computing %2, receiving weights %3 (%4)</source>
        <translation>%1: computing %2, receiving weights %3 (%4)</translation>
    </message>
    <message>
        <source>peak %1 against %2 planned</source>
        <translation>peak %1 against %2 planned</translation>
    </message>
    <message>
        <source>peak %1</source>
        <translation>peak %1</translation>
    </message>
    <message>
        <source>%1; %2</source>
        <comment>a device&apos;s work; its memory</comment>
        <translation>%1; %2</translation>
    </message>
    <message>
        <source>computing (in its device&apos;s colour)</source>
        <translation>computing (in its device&apos;s colour)</translation>
    </message>
    <message>
        <source>weights brought in (hatched)</source>
        <translation>weights brought in (hatched)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <comment>a host and one of its devices</comment>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1: sent %2 and received %3 between hosts, waiting %4 for the others</source>
        <translation>%1: sent %2 and received %3 between hosts, waiting %4 for the others</translation>
    </message>
</context>
<context>
    <name>mizan::gui::MainWindow</name>
    <message>
        <source>Opening %1…</source>
        <translation>Opening %1…</translation>
    </message>
    <message>
        <source>%1 of %2 shards</source>
        <translation>%1 of %2 shards</translation>
    </message>
    <message>
        <source>%1 — Mizan</source>
        <translation>%1 — Mizan</translation>
    </message>
    <message>
        <source>Opening cancelled.</source>
        <translation>Opening cancelled.</translation>
    </message>
    <message>
        <source>Cannot open</source>
        <translation>Cannot open</translation>
    </message>
    <message>
        <source>Cannot plan</source>
        <translation>Cannot plan</translation>
    </message>
    <message>
        <source>Open a checkpoint folder</source>
        <translation>Open a checkpoint folder</translation>
    </message>
    <message>
        <source>Ctrl+Shift+O</source>
        <translation>Ctrl+Shift+O</translation>
    </message>
    <message>
        <source>Open a checkpoint file</source>
        <translation>Open a checkpoint file</translation>
    </message>
    <message>
        <source>Import a device map</source>
        <translation>Import a device map</translation>
    </message>
    <message>
        <source>Device map (*.json)</source>
        <translation>Device map (*.json)</translation>
    </message>
    <message>
        <source>Open a plan</source>
        <translation>Open a plan</translation>
    </message>
    <message>
        <source>Mizan plan (*.mizan.json);;JSON (*.json)</source>
        <translation>Mizan plan (*.mizan.json);;JSON (*.json)</translation>
    </message>
    <message>
        <source>Ctrl+E</source>
        <translation>Ctrl+E</translation>
    </message>
    <message>
        <source>Export the device map</source>
        <translation>Export the device map</translation>
    </message>
    <message>
        <source>Export max_memory</source>
        <translation>Export max_memory</translation>
    </message>
    <message>
        <source>max_memory (*.json)</source>
        <translation>max_memory (*.json)</translation>
    </message>
    <message>
        <source>Save the plan</source>
        <translation>Save the plan</translation>
    </message>
    <message>
        <source>Mizan plan (*.mizan.json)</source>
        <translation>Mizan plan (*.mizan.json)</translation>
    </message>
    <message>
        <source>Ctrl+Shift+C</source>
        <translation>Ctrl+Shift+C</translation>
    </message>
    <message>
        <source>Python snippet copied to the clipboard.</source>
        <translation>Python snippet copied to the clipboard.</translation>
    </message>
    <message>
        <source>About Mizan</source>
        <translation>About Mizan</translation>
    </message>
    <message>
        <source>&lt;b&gt;Mizan&lt;/b&gt; %1&lt;br/&gt;Plans device maps for checkpoints bigger than one GPU, matching Accelerate&apos;s infer_auto_device_map.</source>
        <translation>&lt;b&gt;Mizan&lt;/b&gt; %1&lt;br/&gt;Plans device maps for checkpoints bigger than one GPU, matching Accelerate&apos;s infer_auto_device_map.</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <source>Open &amp;preset</source>
        <translation>Open &amp;preset</translation>
    </message>
    <message>
        <source>Open &amp;recent</source>
        <translation>Open &amp;recent</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>&amp;Import</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>&amp;Export</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;Edit</translation>
    </message>
    <message>
        <source>&amp;Move to</source>
        <translation>&amp;Move to</translation>
    </message>
    <message>
        <source>&amp;Pin to</source>
        <translation>&amp;Pin to</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;View</translation>
    </message>
    <message>
        <source>&amp;Plan</source>
        <translation>&amp;Plan</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Language</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <source>&amp;Open folder…</source>
        <translation>&amp;Open folder…</translation>
    </message>
    <message>
        <source>Open &amp;file…</source>
        <translation>Open &amp;file…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <source>Device map JSON…</source>
        <translation>Device map JSON…</translation>
    </message>
    <message>
        <source>Plan file…</source>
        <translation>Plan file…</translation>
    </message>
    <message>
        <source>Export device map…</source>
        <translation>Export device map…</translation>
    </message>
    <message>
        <source>max_memory JSON…</source>
        <translation>max_memory JSON…</translation>
    </message>
    <message>
        <source>&amp;Save plan…</source>
        <translation>&amp;Save plan…</translation>
    </message>
    <message>
        <source>Copy Python snippet</source>
        <translation>Copy Python snippet</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>&amp;Undo</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>&amp;Redo</translation>
    </message>
    <message>
        <source>Unpin</source>
        <translation>Unpin</translation>
    </message>
    <message>
        <source>Filter modules…</source>
        <translation>Filter modules…</translation>
    </message>
    <message>
        <source>Expand selected</source>
        <translation>Expand selected</translation>
    </message>
    <message>
        <source>Collapse all</source>
        <translation>Collapse all</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <source>Compute a device map for these limits (F5)</source>
        <translation>Compute a device map for these limits (F5)</translation>
    </message>
    <message>
        <source>&amp;About Mizan</source>
        <translation>&amp;About Mizan</translation>
    </message>
    <message>
        <source>Devices and limits</source>
        <translation>Devices and limits</translation>
    </message>
    <message>
        <source>No-split classes</source>
        <translation>No-split classes</translation>
    </message>
    <message>
        <source>Memory per device and per layer</source>
        <translation>Memory per device and per layer</translation>
    </message>
    <message>
        <source>History</source>
        <translation>History</translation>
    </message>
    <message>
        <source>&lt;opened&gt;</source>
        <translation>&lt;opened&gt;</translation>
    </message>
    <message>
        <source>Filter by module name or class…</source>
        <translation>Filter by module name or class…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>Main toolbar</translation>
    </message>
    <message>
        <source>Mizan</source>
        <translation>Mizan</translation>
    </message>
    <message>
        <source>Open a checkpoint, a config.json or a preset to begin.</source>
        <translation>Open a checkpoint, a config.json or a preset to begin.</translation>
    </message>
    <message>
        <source>unknown architecture</source>
        <translation>unknown architecture</translation>
    </message>
    <message>
        <source>%1: %2 parameters, %3, %4 modules</source>
        <translation>%1: %2 parameters, %3, %4 modules</translation>
    </message>
    <message>
        <source>config only</source>
        <translation>config only</translation>
    </message>
    <message>
        <source>opened in %1 ms</source>
        <translation>opened in %1 ms</translation>
    </message>
    <message>
        <source>planning…</source>
        <translation>planning…</translation>
    </message>
    <message>
        <source>Move to</source>
        <translation>Move to</translation>
    </message>
    <message>
        <source>Pin to</source>
        <translation>Pin to</translation>
    </message>
    <message>
        <source>Copy name</source>
        <translation>Copy name</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>Saved %1</translation>
    </message>
    <message>
        <source>Cannot save</source>
        <translation>Cannot save</translation>
    </message>
    <message>
        <source>Imported %1</source>
        <translation>Imported %1</translation>
    </message>
    <message>
        <source>Cannot import</source>
        <translation>Cannot import</translation>
    </message>
    <message>
        <source>&amp;Undo %1</source>
        <translation>&amp;Undo %1</translation>
    </message>
    <message>
        <source>&amp;Redo %1</source>
        <translation>&amp;Redo %1</translation>
    </message>
    <message>
        <source>Test inference</source>
        <translation>Test inference</translation>
    </message>
    <message>
        <source>Generate a few tokens with the weights placed as planned, and watch them move (F6)</source>
        <translation>Generate a few tokens with the weights placed as planned, and watch them move (F6)</translation>
    </message>
    <message>
        <source>Cancel test inference</source>
        <translation>Cancel test inference</translation>
    </message>
    <message>
        <source>Checkpoints (*.safetensors *.bin *.pt *.pth *.json);;All files (*)</source>
        <translation>Checkpoints (*.safetensors *.bin *.pt *.pth *.json);;All files (*)</translation>
    </message>
    <message>
        <source>Policies</source>
        <translation>Policies</translation>
    </message>
    <message>
        <source>Compare with a plan</source>
        <translation>Compare with a plan</translation>
    </message>
    <message>
        <source>Mizan plan or device map (*.json)</source>
        <translation>Mizan plan or device map (*.json)</translation>
    </message>
    <message>
        <source>&amp;Compare with plan…</source>
        <translation>&amp;Compare with plan…</translation>
    </message>
    <message>
        <source>Show the map on screen and a saved plan or device map side by side: what moved, memory per device, predicted speed</source>
        <translation>Show the map on screen and a saved plan or device map side by side: what moved, memory per device, predicted speed</translation>
    </message>
    <message>
        <source>Cannot compare</source>
        <translation>Cannot compare</translation>
    </message>
    <message>
        <source>Open a cluster plan</source>
        <translation>Open a cluster plan</translation>
    </message>
    <message>
        <source>Mizan cluster plan (*.json)</source>
        <translation>Mizan cluster plan (*.json)</translation>
    </message>
    <message>
        <source>Open c&amp;luster plan…</source>
        <translation>Open c&amp;luster plan…</translation>
    </message>
    <message>
        <source>Show a plan made for several hosts (mizan-cli plan --hardware CLUSTER): each host&apos;s stage and device lanes</source>
        <translation>Show a plan made for several hosts (mizan-cli plan --hardware CLUSTER): each host&apos;s stage and device lanes</translation>
    </message>
    <message>
        <source>Cannot open the cluster plan</source>
        <translation>Cannot open the cluster plan</translation>
    </message>
</context>
<context>
    <name>mizan::gui::ModuleTreeModel</name>
    <message>
        <source>mixed</source>
        <translation>mixed</translation>
    </message>
    <message>
        <source>split: %1</source>
        <translation>split: %1</translation>
    </message>
    <message>
        <source>, </source>
        <comment>list separator</comment>
        <translation>, </translation>
    </message>
    <message>
        <source>Module</source>
        <translation>Module</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>Class</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>Parameters</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Size</translation>
    </message>
    <message>
        <source>Dtype</source>
        <translation>Dtype</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Device</translation>
    </message>
</context>
<context>
    <name>mizan::gui::NoSplitPanel</name>
    <message>
        <source>Modules of a checked class are never split across devices. The model&apos;s defaults are in bold.</source>
        <translation>Modules of a checked class are never split across devices. The model&apos;s defaults are in bold.</translation>
    </message>
    <message>
        <source>Reset to the model&apos;s defaults</source>
        <translation>Reset to the model&apos;s defaults</translation>
    </message>
    <message>
        <source>%1: a default no-split class of this architecture</source>
        <translation>%1: a default no-split class of this architecture</translation>
    </message>
</context>
<context>
    <name>mizan::gui::PolicyPanel</name>
    <message>
        <source>%1 is in the list already.</source>
        <translation>%1 is in the list already.</translation>
    </message>
    <message>
        <source>Rules that place many modules at once, kept like pins and saved with the plan. Adding or removing one plans again.</source>
        <translation>Rules that place many modules at once, kept like pins and saved with the plan. Adding or removing one plans again.</translation>
    </message>
    <message>
        <source>Remove the selected policy</source>
        <translation>Remove the selected policy</translation>
    </message>
    <message>
        <source>Add policy</source>
        <translation>Add policy</translation>
    </message>
    <message>
        <source>for example name:model.layers.*.mlp.experts=cpu</source>
        <translation>for example name:model.layers.*.mlp.experts=cpu</translation>
    </message>
    <message>
        <source>Write SELECTOR=DEVICE, or SELECTOR!=DEVICE to keep it off a device. Selectors: experts (the experts of every mixture-of-experts block), experts:N (those of the first N blocks), embeddings, first:N (the first N blocks), class:CLASS, name:PATTERN (* any characters but a dot, ** any characters, ? one character, {0..3} a number from 0 to 3, {a,b} one of the words). Devices: 0, 1, …, cpu, disk. The more specific rule wins: first:4=0 with experts-on-cpu keeps blocks 0-3 on GPU 0 but their experts on the CPU.</source>
        <translation>Write SELECTOR=DEVICE, or SELECTOR!=DEVICE to keep it off a device. Selectors: experts (the experts of every mixture-of-experts block), experts:N (those of the first N blocks), embeddings, first:N (the first N blocks), class:CLASS, name:PATTERN (* any characters but a dot, ** any characters, ? one character, {0..3} a number from 0 to 3, {a,b} one of the words). Devices: 0, 1, …, cpu, disk. The more specific rule wins: first:4=0 with experts-on-cpu keeps blocks 0-3 on GPU 0 but their experts on the CPU.</translation>
    </message>
    <message>
        <source>The experts of every mixture-of-experts block on the CPU; attention, router and norms stay on the GPUs (what llama.cpp&apos;s --n-cpu-moe and ktransformers do)</source>
        <translation>The experts of every mixture-of-experts block on the CPU; attention, router and norms stay on the GPUs (what llama.cpp&apos;s --n-cpu-moe and ktransformers do)</translation>
    </message>
    <message>
        <source>The input embeddings on the CPU</source>
        <translation>The input embeddings on the CPU</translation>
    </message>
    <message>
        <source>SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being experts, experts:N, embeddings, first:N, class:CLASS or name:PATTERN</source>
        <translation>SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being experts, experts:N, embeddings, first:N, class:CLASS or name:PATTERN</translation>
    </message>
    <message numerus="yes">
        <source>%Ln entries kept off %1 (%2)</source>
        <translation>
            <numerusform>%Ln entry kept off %1 (%2)</numerusform>
            <numerusform>%Ln entries kept off %1 (%2)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln entries on %1 (%2)</source>
        <translation>
            <numerusform>%Ln entry on %1 (%2)</numerusform>
            <numerusform>%Ln entries on %1 (%2)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>splits %Ln blocks: the rest of each stays on one device</source>
        <translation>
            <numerusform>splits %Ln block: the rest of it stays on one device</numerusform>
            <numerusform>splits %Ln blocks: the rest of each stays on one device</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>mizan::gui::ProblemsPanel</name>
    <message>
        <source>Problems</source>
        <translation>Problems</translation>
    </message>
    <message>
        <source>Module</source>
        <translation>Module</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Warning</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>Note</translation>
    </message>
    <message>
        <source>The device map is valid.</source>
        <translation>The device map is valid.</translation>
    </message>
    <message>
        <source>, …</source>
        <translation>, …</translation>
    </message>
    <message>
        <source>%1 tensors missing from the checkpoint</source>
        <translation>%1 tensors missing from the checkpoint</translation>
    </message>
    <message>
        <source>%1 tensors the architecture does not know</source>
        <translation>%1 tensors the architecture does not know</translation>
    </message>
    <message>
        <source>%1 shape mismatches</source>
        <translation>%1 shape mismatches</translation>
    </message>
    <message>
        <source>Error: %1</source>
        <translation>Error: %1</translation>
    </message>
    <message>
        <source>Warning: %1</source>
        <translation>Warning: %1</translation>
    </message>
    <message>
        <source>Fix: %1</source>
        <translation>Fix: %1</translation>
    </message>
    <message>
        <source>%1 (%2, %3)</source>
        <translation>%1 (%2, %3)</translation>
    </message>
    <message numerus="yes">
        <source>%Ln error(s)</source>
        <translation>
            <numerusform>%Ln error</numerusform>
            <numerusform>%Ln errors</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln warning(s)</source>
        <translation>
            <numerusform>%Ln warning</numerusform>
            <numerusform>%Ln warnings</numerusform>
        </translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>Test inference failed: %1: %2</source>
        <translation>Test inference failed: %1: %2</translation>
    </message>
</context>
<context>
    <name>mizan::gui::StartPage</name>
    <message>
        <source>%1  —  %2 parameters</source>
        <translation>%1  —  %2 parameters</translation>
    </message>
    <message>
        <source>%1 (%2), from %3</source>
        <translation>%1 (%2), from %3</translation>
    </message>
    <message>
        <source>Mizan</source>
        <translation>Mizan</translation>
    </message>
    <message>
        <source>Plan where every layer of a model goes when it does not fit on one GPU: open a checkpoint, set the memory of each device, and get a device map for transformers and Accelerate.</source>
        <translation>Plan where every layer of a model goes when it does not fit on one GPU: open a checkpoint, set the memory of each device, and get a device map for transformers and Accelerate.</translation>
    </message>
    <message>
        <source>Open checkpoint folder…</source>
        <translation>Open checkpoint folder…</translation>
    </message>
    <message>
        <source>Open file…</source>
        <translation>Open file…</translation>
    </message>
    <message>
        <source>&lt;b&gt;Recent&lt;/b&gt;</source>
        <translation>&lt;b&gt;Recent&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;Model presets&lt;/b&gt; (from config.json alone)</source>
        <translation>&lt;b&gt;Model presets&lt;/b&gt; (from config.json alone)</translation>
    </message>
    <message>
        <source>Or drop a folder, a .safetensors file, an index or a config.json here.</source>
        <translation>Or drop a folder, a .safetensors file, an index or a config.json here.</translation>
    </message>
    <message>
        <source>%1 and %2 more</source>
        <translation>%1 and %2 more</translation>
    </message>
    <message>
        <source>Links to missing blobs: %1</source>
        <translation>Links to missing blobs: %1</translation>
    </message>
    <message>
        <source>Unreadable index: %1</source>
        <translation>Unreadable index: %1</translation>
    </message>
    <message>
        <source>Missing shards: %1</source>
        <translation>Missing shards: %1</translation>
    </message>
    <message>
        <source>No config.json</source>
        <translation>No config.json</translation>
    </message>
    <message>
        <source>No weights (config.json only)</source>
        <translation>No weights (config.json only)</translation>
    </message>
    <message>
        <source>Download in progress</source>
        <translation>Download in progress</translation>
    </message>
    <message>
        <source>Looking for models in the Hugging Face cache…</source>
        <translation>Looking for models in the Hugging Face cache…</translation>
    </message>
    <message>
        <source>in %1</source>
        <translation>in %1</translation>
    </message>
    <message>
        <source>No Hugging Face cache folder here (searched: %1).</source>
        <translation>No Hugging Face cache folder here (searched: %1).</translation>
    </message>
    <message>
        <source>No models in the Hugging Face cache (searched: %1).</source>
        <translation>No models in the Hugging Face cache (searched: %1).</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>safetensors</source>
        <translation>safetensors</translation>
    </message>
    <message>
        <source>PyTorch .bin</source>
        <translation>PyTorch .bin</translation>
    </message>
    <message>
        <source>none</source>
        <translation>none</translation>
    </message>
    <message>
        <source>, </source>
        <translation>, </translation>
    </message>
    <message>
        <source>Complete</source>
        <translation>Complete</translation>
    </message>
    <message>
        <source>Double-click or press Enter to open this snapshot.</source>
        <translation>Double-click or press Enter to open this snapshot.</translation>
    </message>
    <message>
        <source>Incomplete: %1</source>
        <translation>Incomplete: %1</translation>
    </message>
    <message>
        <source>This snapshot cannot be opened: %1</source>
        <translation>This snapshot cannot be opened: %1</translation>
    </message>
    <message>
        <source>Select a complete snapshot to open it.</source>
        <translation>Select a complete snapshot to open it.</translation>
    </message>
    <message>
        <source>Open %1</source>
        <translation>Open %1</translation>
    </message>
    <message>
        <source>%1 (%2) cannot be opened: %3</source>
        <translation>%1 (%2) cannot be opened: %3</translation>
    </message>
    <message>
        <source>&lt;b&gt;Local models&lt;/b&gt; (Hugging Face cache)</source>
        <translation>&lt;b&gt;Local models&lt;/b&gt; (Hugging Face cache)</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>List the Hugging Face cache again</source>
        <translation>List the Hugging Face cache again</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Open</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>Revision</source>
        <translation>Revision</translation>
    </message>
    <message>
        <source>Size on disk</source>
        <translation>Size on disk</translation>
    </message>
    <message>
        <source>Formats</source>
        <translation>Formats</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Cannot list the Hugging Face cache: %1</source>
        <translation>Cannot list the Hugging Face cache: %1</translation>
    </message>
</context>
<context>
    <name>mizan::gui::TestRunPanel</name>
    <message>
        <source>&amp;Prompt (token ids):</source>
        <translation>&amp;Prompt (token ids):</translation>
    </message>
    <message>
        <source>The prompt&apos;s token ids, separated by commas or spaces</source>
        <translation>The prompt&apos;s token ids, separated by commas or spaces</translation>
    </message>
    <message>
        <source>&amp;Max new tokens:</source>
        <translation>&amp;Max new tokens:</translation>
    </message>
    <message>
        <source>Pre&amp;fetch:</source>
        <translation>Pre&amp;fetch:</translation>
    </message>
    <message>
        <source>Offloaded blocks brought in ahead while the current one computes (0: none)</source>
        <translation>Offloaded blocks brought in ahead while the current one computes (0: none)</translation>
    </message>
    <message>
        <source>Simulated &amp;link:</source>
        <translation>Simulated &amp;link:</translation>
    </message>
    <message>
        <source> GB/s</source>
        <translation> GB/s</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>unlimited</translation>
    </message>
    <message>
        <source>Host-to-GPU bandwidth of the simulated GPUs, to preview a PCIe-limited offload</source>
        <translation>Host-to-GPU bandwidth of the simulated GPUs, to preview a PCIe-limited offload</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;Run</translation>
    </message>
    <message>
        <source>Run the plan on screen: generate tokens with the weights placed as planned</source>
        <translation>Run the plan on screen: generate tokens with the weights placed as planned</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Generated token ids</source>
        <translation>Generated token ids</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a token id (a whole number, 0 or more).</source>
        <translation>&quot;%1&quot; is not a token id (a whole number, 0 or more).</translation>
    </message>
    <message>
        <source>Type the prompt&apos;s token ids, e.g. 1, 2, 3.</source>
        <translation>Type the prompt&apos;s token ids, e.g. 1, 2, 3.</translation>
    </message>
    <message>
        <source>Ready: Run generates with the weights placed as planned.</source>
        <translation>Ready: Run generates with the weights placed as planned.</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Starting…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Cancelling…</translation>
    </message>
    <message>
        <source>%1 %2 of %3 tokens</source>
        <translation>%1 %2 of %3 tokens</translation>
    </message>
    <message>
        <source>Prefill %1 ms</source>
        <translation>Prefill %1 ms</translation>
    </message>
    <message>
        <source>%1 ms/token</source>
        <translation>%1 ms/token</translation>
    </message>
    <message>
        <source>%1 tokens/s</source>
        <translation>%1 tokens/s</translation>
    </message>
    <message>
        <source>No tokens yet.</source>
        <translation>No tokens yet.</translation>
    </message>
    <message>
        <source> · </source>
        <translation> · </translation>
    </message>
    <message>
        <source>The run failed: %1: %2</source>
        <translation>The run failed: %1: %2</translation>
    </message>
    <message numerus="yes">
        <source>Cancelled after %Ln token(s).</source>
        <translation>
            <numerusform>Cancelled after %Ln token.</numerusform>
            <numerusform>Cancelled after %Ln tokens.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Done: %Ln token(s) generated; the weights were in place after %1 s.</source>
        <translation>
            <numerusform>Done: %Ln token generated; the weights were in place after %1 s.</numerusform>
            <numerusform>Done: %Ln tokens generated; the weights were in place after %1 s.</numerusform>
        </translation>
    </message>
    <message>
        <source>Opening the checkpoint…</source>
        <translation>Opening the checkpoint…</translation>
    </message>
    <message>
        <source>Writing the offload folder…</source>
        <translation>Writing the offload folder…</translation>
    </message>
    <message>
        <source>Loading the weights…</source>
        <translation>Loading the weights…</translation>
    </message>
    <message>
        <source>Reading the prompt…</source>
        <translation>Reading the prompt…</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>Generating…</translation>
    </message>
    <message>
        <source>&amp;Prompt:</source>
        <translation>&amp;Prompt:</translation>
    </message>
    <message>
        <source>The prompt, encoded with the model&apos;s tokenizer (%1)</source>
        <translation>The prompt, encoded with the model&apos;s tokenizer (%1)</translation>
    </message>
    <message>
        <source>The prompt&apos;s token ids, separated by commas or spaces. The tokenizer could not be read: %1</source>
        <translation>The prompt&apos;s token ids, separated by commas or spaces. The tokenizer could not be read: %1</translation>
    </message>
    <message>
        <source>Generated text</source>
        <translation>Generated text</translation>
    </message>
    <message>
        <source>Write a prompt first.</source>
        <translation>Write a prompt first.</translation>
    </message>
    <message>
        <source>The tokenizer does not fit this model: it gives token %1, beyond the model&apos;s %2 embeddings.</source>
        <translation>The tokenizer does not fit this model: it gives token %1, beyond the model&apos;s %2 embeddings.</translation>
    </message>
    <message>
        <source>The prompt encodes to no tokens.</source>
        <translation>The prompt encodes to no tokens.</translation>
    </message>
</context>
</TS>
