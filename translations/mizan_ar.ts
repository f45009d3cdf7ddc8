<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ar_EG">
<context>
    <name>Format</name>
    <message>
        <source>%1 B</source>
        <translation>%1 بايت</translation>
    </message>
    <message>
        <source>%1 KiB</source>
        <translation>%1 كيبيبايت</translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation>%1 ميبيبايت</translation>
    </message>
    <message>
        <source>%1 GiB</source>
        <translation>%1 غيبيبايت</translation>
    </message>
    <message>
        <source>%1 TiB</source>
        <translation>%1 تيبيبايت</translation>
    </message>
    <message>
        <source>%1 K</source>
        <translation>%1 ألف</translation>
    </message>
    <message>
        <source>%1 M</source>
        <translation>%1 مليون</translation>
    </message>
    <message>
        <source>%1 B</source>
        <comment>billions of parameters</comment>
        <translation>%1 مليار</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 ثانية</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 ملّي ثانية</translation>
    </message>
    <message>
        <source>%1 us</source>
        <translation>%1 ميكروثانية</translation>
    </message>
</context>
<context>
    <name>MessageText</name>
    <message>
        <source>fits on %1: needs %2</source>
        <translation>يتَّسع على %1: يحتاج إلى %2</translation>
    </message>
    <message>
        <source>fits on %1: needs %2, %3 was free</source>
        <translation>يتَّسع على %1: يحتاج إلى %2، وكان المتاح %3</translation>
    </message>
    <message>
        <source>fits on %1: needs %2 after reserving %3 for the largest layer</source>
        <translation>يتَّسع على %1: يحتاج إلى %2 بعد حجز %3 لأكبر طبقة</translation>
    </message>
    <message>
        <source>fits on %1: needs %2, %3 was free after reserving %4 for the largest layer</source>
        <translation>يتَّسع على %1: يحتاج إلى %2، وكان المتاح %3 بعد حجز %4 لأكبر طبقة</translation>
    </message>
    <message>
        <source>did not fit on %1: %2 free, needs %3</source>
        <translation>لم يتَّسع على %1: المتاح %2، ويحتاج إلى %3</translation>
    </message>
    <message>
        <source>did not fit on %1: %2 free after reserving %3 for the largest layer, needs %4</source>
        <translation>لم يتَّسع على %1: المتاح %2 بعد حجز %3 لأكبر طبقة، ويحتاج إلى %4</translation>
    </message>
    <message>
        <source>placed on %1</source>
        <translation>وُضع على %1</translation>
    </message>
    <message>
        <source>forbidden on an earlier device by a pin</source>
        <translation>منعه تثبيتٌ من جهاز سابق</translation>
    </message>
    <message>
        <source>pinned to %1 by the user</source>
        <translation>ثبَّته المستخدم على %1</translation>
    </message>
    <message>
        <source>tied to &quot;%1&quot;: placed with it on %2</source>
        <translation>مربوط بـ«%1»: وُضع معه على %2</translation>
    </message>
    <message>
        <source>tied to &quot;%1&quot;, which is pinned to %2</source>
        <translation>مربوط بـ«%1» المثبَّت على %2</translation>
    </message>
    <message>
        <source>all its parts went to %1: merged into one entry</source>
        <translation>ذهبت كل أجزائه إلى %1: فدُمجت في مدخل واحد</translation>
    </message>
    <message>
        <source>&quot;%1&quot; did not fit on %2: %3 free, needs %4</source>
        <translation>«%1» لم يتَّسع على %2: المتاح %3، ويحتاج إلى %4</translation>
    </message>
    <message>
        <source>&quot;%1&quot; did not fit on %2: %3 free after reserving %4 for the largest layer, needs %5</source>
        <translation>«%1» لم يتَّسع على %2: المتاح %3 بعد حجز %4 لأكبر طبقة، ويحتاج إلى %5</translation>
    </message>
    <message>
        <source>fallback allocation: the largest remaining module that fits on %1, which nothing else fitted</source>
        <translation>تخصيص احتياطي: أكبر وحدة متبقية تتَّسع على %1، إذ لم يتَّسع عليه شيء آخر</translation>
    </message>
    <message>
        <source>part of &quot;%1&quot; on %2</source>
        <translation>جزء من «%1» على %2</translation>
    </message>
    <message>
        <source>part of the whole model, which the map puts on %1</source>
        <translation>جزء من النموذج كله، وقد وضعته الخريطة على %1</translation>
    </message>
    <message>
        <source>split into children</source>
        <translation>قُسِّم إلى وحداته الفرعية</translation>
    </message>
    <message>
        <source>split into children: it contains a pinned module or one forbidden on %1</source>
        <translation>قُسِّم إلى وحداته الفرعية: يحتوي على وحدة مثبَّتة أو وحدة ممنوعة على %1</translation>
    </message>
    <message>
        <source>the model is spread over several devices</source>
        <translation>النموذج موزَّع على عدة أجهزة</translation>
    </message>
    <message>
        <source>parts on %1</source>
        <translation>أجزاؤه على %1</translation>
    </message>
    <message>
        <source>no-split class &quot;%1&quot; does not occur in the model</source>
        <translation>الصنف «%1» من الأصناف التي لا تُقسَّم، لكنه غير موجود في النموذج</translation>
    </message>
    <message>
        <source>tied parameters &quot;%1&quot; and &quot;%2&quot; are pinned to different devices (%3, %4)</source>
        <translation>المعاملان المربوطان «%1» و«%2» مثبَّتان على جهازين مختلفين (%3، %4)</translation>
    </message>
    <message>
        <source>runtime headroom: the reservation did not settle after %1 re-plans; check the per-GPU headroom</source>
        <translation>هامش التشغيل: لم يستقرَّ الحجز بعد إعادات تخطيط عددها %1؛ راجع الهامش المحجوز لكل معالج رسوميات</translation>
    </message>
    <message>
        <source>The model needs %1 of buffers for offloaded layers, which does not seem to fit in any GPU&apos;s remaining memory. If you run out of memory later, consider offload_buffers=True.</source>
        <translation>يحتاج النموذج إلى %1 من المخازن المؤقتة للطبقات المنقولة خارج معالجات الرسوميات، ويبدو أنها لا تتَّسع في الذاكرة المتبقية لأي معالج رسوميات. إن نفدت الذاكرة لاحقًا فجرِّب offload_buffers=True.</translation>
    </message>
    <message>
        <source>With this allocation, no module could be assigned to the following devices for lack of memory:</source>
        <translation>في هذا التوزيع تعذَّر إسناد أي وحدة إلى الأجهزة التالية لنقص الذاكرة:</translation>
    </message>
    <message>
        <source>%1: %2 required</source>
        <translation>%1: يلزم %2</translation>
    </message>
    <message>
        <source>These minimums are specific to this allocation and may vary. Consider giving these devices at least that much memory, or adjusting the model config.</source>
        <translation>هذه الحدود الدنيا خاصة بهذا التوزيع وقد تتغيَّر. فكِّر في منح هذه الأجهزة هذا القدر من الذاكرة على الأقل، أو في تعديل إعدادات النموذج.</translation>
    </message>
    <message>
        <source>&quot;%1&quot; appears twice in the map (%2 and %3)</source>
        <translation>«%1» يظهر مرتين في الخريطة (%2 و%3)</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is inside &quot;%2&quot;, which already has a device</source>
        <translation>«%1» داخل «%2» الذي أُسند إليه جهاز بالفعل</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is inside the whole model, which already has a device</source>
        <translation>«%1» داخل النموذج كله، وقد أُسند إليه جهاز بالفعل</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a module or tensor of this model</source>
        <translation>«%1» ليس وحدة ولا موترًا في هذا النموذج</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is mapped to %2, which the device limits do not list</source>
        <translation>«%1» مُسنَد إلى %2، وهو جهاز لا تذكره حدود الأجهزة</translation>
    </message>
    <message>
        <source>no device for 1 tensor: %1</source>
        <translation>موتر واحد بلا جهاز: %1</translation>
    </message>
    <message>
        <source>no device for %1 tensors: %2</source>
        <translation>موترات بلا جهاز (%1): %2</translation>
    </message>
    <message>
        <source>no device for %1 tensors: %2, …</source>
        <translation>موترات بلا جهاز (%1): %2، …</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is tied to &quot;%2&quot; but is on %3 while it is on %4</source>
        <translation>«%1» مربوط بـ«%2» لكنه على %3 بينما «%2» على %4</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is on %2, which a pin forbids for it</source>
        <translation>«%1» على %2، وهو جهاز يمنعه عنه تثبيت</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is pinned to %2 but the map puts it on %3</source>
        <translation>«%1» مثبَّت على %2 لكن الخريطة تضعه على %3</translation>
    </message>
    <message>
        <source>&quot;%1&quot; (class %2, never split) has parts on %3 devices</source>
        <translation>«%1» (من الصنف %2 الذي لا يُقسَّم أبدًا) موزَّعة أجزاؤه على أجهزة عددها %3</translation>
    </message>
    <message>
        <source>%1 is over its limit by %2 bytes (%3 planned, %4 available)</source>
        <translation>%1 يتجاوز حدَّه بمقدار %2 بايت (المخطَّط %3، والمتاح %4)</translation>
    </message>
    <message>
        <source>%1 is over its limit by %2 bytes (%3 planned, %4 available after %5 runtime headroom)</source>
        <translation>%1 يتجاوز حدَّه بمقدار %2 بايت (المخطَّط %3، والمتاح %4 بعد حجز %5 لهامش التشغيل)</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is on disk although the CPU has %2 free after keeping room for the largest disk entry (it needs %3)</source>
        <translation>«%1» على القرص مع أن المتاح في المعالج المركزي %2 بعد إبقاء متَّسع لأكبر مدخل على القرص (ويحتاج إلى %3)</translation>
    </message>
    <message>
        <source>%1 holds nothing while %2 holds modules</source>
        <translation>%1 لا يحمل شيئًا بينما يحمل %2 وحدات</translation>
    </message>
    <message>
        <source>keep one entry for &quot;%1&quot;</source>
        <translation>أبقِ مدخلًا واحدًا لـ«%1»</translation>
    </message>
    <message>
        <source>remove the entry or correct the name</source>
        <translation>احذف المدخل أو صحِّح الاسم</translation>
    </message>
    <message>
        <source>did you mean &quot;%1&quot;?</source>
        <translation>هل تقصد «%1»؟</translation>
    </message>
    <message>
        <source>move it to a listed device or add a limit for %1</source>
        <translation>انقله إلى جهاز مُدرَج أو أضف حدًّا للجهاز %1</translation>
    </message>
    <message>
        <source>remove one of the two entries</source>
        <translation>احذف أحد المدخلين</translation>
    </message>
    <message>
        <source>give their module (or a parent) a device</source>
        <translation>أسنِد جهازًا إلى وحدتها (أو إلى وحدة أعلى منها)</translation>
    </message>
    <message>
        <source>put both on the same device</source>
        <translation>ضعهما على الجهاز نفسه</translation>
    </message>
    <message>
        <source>move it to another device</source>
        <translation>انقله إلى جهاز آخر</translation>
    </message>
    <message>
        <source>move it to %1 or remove the pin</source>
        <translation>انقله إلى %1 أو ألغِ التثبيت</translation>
    </message>
    <message>
        <source>map &quot;%1&quot; as one entry</source>
        <translation>اجعل «%1» مدخلًا واحدًا في الخريطة</translation>
    </message>
    <message>
        <source>move modules from %1 to a device with room</source>
        <translation>انقل وحدات من %1 إلى جهاز فيه متَّسع</translation>
    </message>
    <message>
        <source>move it to the CPU: disk is much slower</source>
        <translation>انقله إلى المعالج المركزي: القرص أبطأ بكثير</translation>
    </message>
    <message>
        <source>move the first modules to %1</source>
        <translation>انقل الوحدات الأولى إلى %1</translation>
    </message>
    <message>
        <source>pin &quot;%1&quot;: the model has no module or tensor of that name</source>
        <translation>تثبيت «%1»: ليس في النموذج وحدة أو موتر بهذا الاسم</translation>
    </message>
    <message>
        <source>pin &quot;%1&quot; to %2: that device has no limit (the limits list %3)</source>
        <translation>تثبيت «%1» على %2: لا حدّ لهذا الجهاز (الحدود تذكر %3)</translation>
    </message>
    <message>
        <source>cannot pin &quot;%1&quot;: it is part of &quot;%2&quot; (class %3, never split); pin &quot;%2&quot; instead</source>
        <translation>لا يمكن تثبيت «%1»: إنه جزء من «%2» (الصنف %3، لا يُجزّأ أبدًا)؛ ثبّت «%2» بدلًا منه</translation>
    </message>
    <message>
        <source>the pins of &quot;%1&quot; and &quot;%2&quot; overlap: pin each module once</source>
        <translation>تثبيتا «%1» و«%2» متداخلان: ثبّت كل وحدة مرة واحدة</translation>
    </message>
    <message>
        <source>the pins contradict: &quot;%1&quot; is pinned to %2 but &quot;%3&quot; is forbidden there</source>
        <translation>التثبيتات متناقضة: «%1» مثبّت على %2 لكن «%3» ممنوع عليه</translation>
    </message>
    <message>
        <source>the pins need %1 on %2 but its limit is %3: over by %4 bytes</source>
        <translation>تحتاج التثبيتات %1 على %2 لكن حدّه %3: الزيادة %4 بايت</translation>
    </message>
    <message>
        <source>the pins need %1 on %2 but its limit is %3 (%4 after the runtime headroom): over by %5 bytes</source>
        <translation>تحتاج التثبيتات %1 على %2 لكن حدّه %3 (%4 بعد هامش التشغيل): الزيادة %5 بايت</translation>
    </message>
    <message>
        <source>&quot;%1&quot; %2</source>
        <translation>«%1» %2</translation>
    </message>
    <message>
        <source>, </source>
        <comment>separates the items of a list of devices or names</comment>
        <translation>، </translation>
    </message>
    <message>
        <source>; </source>
        <comment>separates the sentences of one explanation</comment>
        <translation>؛ </translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>an explanation followed by its details</comment>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>__metadata__ has no &quot;format&quot; entry (transformers expects &quot;pt&quot;)</source>
        <translation>لا يحتوي __metadata__ على المدخل «format» (تتوقع transformers القيمة «pt»)</translation>
    </message>
    <message>
        <source>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;: the tensors may not be in PyTorch layout</source>
        <translation>صيغة __metadata__ هي «%1» وليست «pt»: قد لا تكون الموترات بتخطيط PyTorch</translation>
    </message>
    <message>
        <source>%1: __metadata__ has no &quot;format&quot; entry (transformers expects &quot;pt&quot;)</source>
        <translation>%1: لا يحتوي __metadata__ على المدخل «format» (تتوقع transformers القيمة «pt»)</translation>
    </message>
    <message>
        <source>%1: __metadata__ format is &quot;%2&quot;, not &quot;pt&quot;: the tensors may not be in PyTorch layout</source>
        <translation>%1: صيغة __metadata__ هي «%2» وليست «pt»: قد لا تكون الموترات بتخطيط PyTorch</translation>
    </message>
    <message>
        <source>no repeated block structure found: no module class is kept whole</source>
        <translation>لم يُعثر على كتل متكررة: لا يُبقى أي صنف من الوحدات كاملًا دون تقسيم</translation>
    </message>
    <message>
        <source>unknown architecture: the no-split class &quot;%1&quot; is a guess from the repeated numbered blocks</source>
        <translation>بنية غير معروفة: الصنف «%1» الذي لا يُقسَّم تخمينٌ من الكتل المرقَّمة المتكررة</translation>
    </message>
    <message>
        <source>the checkpoint holds the bare base model: tensor names lack the &quot;%1.&quot; prefix of %2</source>
        <translation>تحتوي نقطة الحفظ على النموذج الأساسي وحده: أسماء الموترات تخلو من البادئة «%1.» التي يستخدمها %2</translation>
    </message>
    <message>
        <source>no config.json: module classes unknown, tree derived from tensor names</source>
        <translation>لا يوجد ملف config.json: أصناف الوحدات غير معروفة، والشجرة مستنتجة من أسماء الموترات</translation>
    </message>
    <message>
        <source>the checkpoint&apos;s tensors do not follow the %1 layout of the registry (%2 of %3 tensors matched): tree derived from tensor names</source>
        <translation>موترات نقطة الحفظ لا تتبع تخطيط %1 في السجل (تطابق %2 من أصل %3): الشجرة مستنتجة من أسماء الموترات</translation>
    </message>
    <message>
        <source>config.json does not describe a %1 model (%2): tree derived from tensor names</source>
        <translation>ملف config.json لا يصف نموذج %1 (%2): الشجرة مستنتجة من أسماء الموترات</translation>
    </message>
    <message>
        <source>Mixtral checkpoint in the transformers 4.x layout (block_sparse_moe.experts.N): the tree follows it</source>
        <translation>نقطة حفظ Mixtral بتخطيط الإصدار 4.x من transformers (block_sparse_moe.experts.N): والشجرة تتبع هذا التخطيط</translation>
    </message>
    <message numerus="yes">
        <source>%1 shard(s) have no &quot;format&quot; in their __metadata__ (transformers expects &quot;pt&quot;): %2</source>
        <translation>
            <numerusform>لا أجزاء تخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2</numerusform>
            <numerusform>جزء واحد يخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2</numerusform>
            <numerusform>جزآن يخلوان من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2</numerusform>
            <numerusform>%1 أجزاء تخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2</numerusform>
            <numerusform>%1 جزءًا يخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2</numerusform>
            <numerusform>%1 جزء يخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 shard(s) have no &quot;format&quot; in their __metadata__ (transformers expects &quot;pt&quot;): %2 and %3 more</source>
        <translation>
            <numerusform>لا أجزاء تخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2 و%3 غيرها</numerusform>
            <numerusform>جزء واحد يخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2 و%3 غيرها</numerusform>
            <numerusform>جزآن يخلوان من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2 و%3 غيرها</numerusform>
            <numerusform>%1 أجزاء تخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2 و%3 غيرها</numerusform>
            <numerusform>%1 جزءًا يخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2 و%3 غيرها</numerusform>
            <numerusform>%1 جزء يخلو من «format» في __metadata__ (تتوقع transformers القيمة «pt»): %2 و%3 غيرها</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shard(s): %3; the tensors may not be in PyTorch layout</source>
        <translation>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 من الأجزاء: %3؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في جزء واحد: %3؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في جزأين: %3؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 أجزاء: %3؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 جزءًا: %3؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 جزء: %3؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>__metadata__ format is &quot;%1&quot;, not &quot;pt&quot;, in %2 shard(s): %3 and %4 more; the tensors may not be in PyTorch layout</source>
        <translation>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 من الأجزاء: %3 و%4 غيرها؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في جزء واحد: %3 و%4 غيرها؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في جزأين: %3 و%4 غيرها؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 أجزاء: %3 و%4 غيرها؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 جزءًا: %3 و%4 غيرها؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
            <numerusform>صيغة __metadata__ هي «%1» وليست «pt» في %2 جزء: %3 و%4 غيرها؛ قد لا تكون الموترات بتخطيط PyTorch</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 non-persistent buffer(s) saved in the checkpoint (causal masks, rotary inv_freq) are ignored, as transformers does</source>
        <translation>
            <numerusform>%1 مخازن مؤقتة غير دائمة محفوظة في نقطة الحفظ (أقنعة سببية، inv_freq الدوراني) تُتجاهَل كما تفعل transformers</numerusform>
            <numerusform>مخزن مؤقت واحد غير دائم محفوظ في نقطة الحفظ (أقنعة سببية، inv_freq الدوراني) يُتجاهَل كما تفعل transformers</numerusform>
            <numerusform>مخزنان مؤقتان غير دائمين محفوظان في نقطة الحفظ (أقنعة سببية، inv_freq الدوراني) يُتجاهَلان كما تفعل transformers</numerusform>
            <numerusform>%1 مخازن مؤقتة غير دائمة محفوظة في نقطة الحفظ (أقنعة سببية، inv_freq الدوراني) تُتجاهَل كما تفعل transformers</numerusform>
            <numerusform>%1 مخزنًا مؤقتًا غير دائم محفوظة في نقطة الحفظ (أقنعة سببية، inv_freq الدوراني) تُتجاهَل كما تفعل transformers</numerusform>
            <numerusform>%1 مخزن مؤقت غير دائم محفوظة في نقطة الحفظ (أقنعة سببية، inv_freq الدوراني) تُتجاهَل كما تفعل transformers</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 tensor(s) of the model are missing from the checkpoint</source>
        <translation>
            <numerusform>لا موترات من النموذج مفقودة من نقطة الحفظ</numerusform>
            <numerusform>موتر واحد من النموذج مفقود من نقطة الحفظ</numerusform>
            <numerusform>موتران من النموذج مفقودان من نقطة الحفظ</numerusform>
            <numerusform>%1 موترات من النموذج مفقودة من نقطة الحفظ</numerusform>
            <numerusform>%1 موترًا من النموذج مفقودة من نقطة الحفظ</numerusform>
            <numerusform>%1 موتر من النموذج مفقودة من نقطة الحفظ</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 checkpoint tensor(s) are not part of the model</source>
        <translation>
            <numerusform>لا موترات في نقطة الحفظ خارج النموذج</numerusform>
            <numerusform>موتر واحد في نقطة الحفظ ليس جزءًا من النموذج</numerusform>
            <numerusform>موتران في نقطة الحفظ ليسا جزءًا من النموذج</numerusform>
            <numerusform>%1 موترات في نقطة الحفظ ليست جزءًا من النموذج</numerusform>
            <numerusform>%1 موترًا في نقطة الحفظ ليست جزءًا من النموذج</numerusform>
            <numerusform>%1 موتر في نقطة الحفظ ليست جزءًا من النموذج</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 tensor shape(s) differ from config.json</source>
        <translation>
            <numerusform>لا أشكال موترات تخالف config.json</numerusform>
            <numerusform>شكل موتر واحد يخالف config.json</numerusform>
            <numerusform>شكلا موترين يخالفان config.json</numerusform>
            <numerusform>%1 أشكال موترات تخالف config.json</numerusform>
            <numerusform>%1 شكلًا من أشكال الموترات تخالف config.json</numerusform>
            <numerusform>%1 شكل موتر يخالف config.json</numerusform>
        </translation>
    </message>
    <message>
        <source>placed on %2 by the policy &quot;%1&quot;</source>
        <translation>وُضع على %2 بحسب السياسة «%1»</translation>
    </message>
    <message>
        <source>split by the policy &quot;%1&quot;</source>
        <translation>قسّمته السياسة «%1»</translation>
    </message>
    <message>
        <source>the rest kept together on %1</source>
        <translation>وبقي الباقي مجتمعًا على %1</translation>
    </message>
    <message>
        <source>part of the rest of &quot;%1&quot;, kept together on %2 (a policy placed its other parts)</source>
        <translation>جزء من باقي «%1» المجتمع على %2 (وضعت سياسةٌ أجزاءه الأخرى)</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a policy: write SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being class:CLASS, name:PATTERN, first:N, experts, experts:N or embeddings, or a built-in name (experts-on-cpu, embeddings-on-cpu)</source>
        <translation>«%1» ليست سياسة: اكتب ⁦SELECTOR=DEVICE⁩ أو ⁦SELECTOR!=DEVICE⁩، والمحدِّد أحد ⁦class:CLASS⁩ أو ⁦name:PATTERN⁩ أو ⁦first:N⁩ أو ⁦experts⁩ أو ⁦experts:N⁩ أو ⁦embeddings⁩، أو اكتب اسمًا مدمجًا (⁦experts-on-cpu⁩ أو ⁦embeddings-on-cpu⁩)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; has a malformed pattern (empty, an unclosed &quot;{&quot;, or a range other than {A..B} with A &lt;= B)</source>
        <translation>نمط السياسة «%1» غير سليم (فارغ، أو فيه «{» غير مغلق، أو مدى غير {A..B} حيث A &lt;= B)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: &quot;%2&quot; is not a device (use 0, 1, …, cpu, disk or mps)</source>
        <translation>السياسة «%1»: «%2» ليس جهازًا (استعمل 0 أو 1 أو … أو cpu أو disk أو mps)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: no module of the model has that class; its classes: %2</source>
        <translation>السياسة «%1»: لا وحدة في النموذج من هذا الصنف؛ أصنافه: %2</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; matches no module or tensor of the model</source>
        <translation>السياسة «%1» لا تطابق أي وحدة أو موتر في النموذج</translation>
    </message>
    <message>
        <source>&quot;%1&quot; holds %2</source>
        <translation>«%1» يحوي %2</translation>
    </message>
    <message>
        <source>the model&apos;s top-level modules: %1</source>
        <translation>وحدات النموذج في المستوى الأعلى: %1</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: the model has no mixture-of-experts layers (no module named &quot;experts&quot;)</source>
        <translation>السياسة «%1»: لا طبقات مزيج خبراء في النموذج (لا وحدة اسمها «experts»)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: the model has no embedding module</source>
        <translation>السياسة «%1»: لا وحدة تضمين في النموذج</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: the model has no decoder blocks (no module of a no-split class, no numbered list of modules)</source>
        <translation>السياسة «%1»: لا كتل مفكِّك في النموذج (لا وحدة من صنف لا يُقسَّم، ولا قائمة وحدات مرقّمة)</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; asks for the first %2 blocks but the model has %3</source>
        <translation>تطلب السياسة «%1» الكتل الأولى وعددها %2، لكن عدد كتل النموذج %3</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places modules on %2, which has no limit (the limits list %3)</source>
        <translation>تضع السياسة «%1» وحدات على %2، ولا حدّ لهذا الجهاز (الحدود تذكر %3)</translation>
    </message>
    <message>
        <source>the policies &quot;%1&quot; and &quot;%4&quot; both place &quot;%2&quot;: on %3 and on %5</source>
        <translation>السياستان «%1» و«%4» تضعان كلتاهما «%2»: على %3 وعلى %5</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but it is pinned to %4</source>
        <translation>تضع السياسة «%1» «%2» على %3 لكنه مثبّت على %4</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but &quot;%4&quot; is forbidden there</source>
        <translation>تضع السياسة «%1» «%2» على %3 لكن «%4» ممنوع عليه</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; forbids &quot;%2&quot; on %3 but &quot;%4&quot; is placed there</source>
        <translation>تمنع السياسة «%1» «%2» من %3 لكن «%4» موضوع عليه</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot;: %3 in %2 entries</source>
        <translation>السياسة «%1»: %3 في إدخالات عددها %2</translation>
    </message>
    <message>
        <source>the policy &quot;%1&quot; places &quot;%2&quot; on %3 but the map puts it on %4</source>
        <translation>تضع السياسة «%1» «%2» على %3 لكن الخريطة تضعه على %4</translation>
    </message>
    <message>
        <source>&quot;%2&quot; is on %3, which the policy &quot;%1&quot; forbids for it</source>
        <translation>«%2» على %3، والسياسة «%1» تمنعه منه</translation>
    </message>
    <message>
        <source>move it to %1 or remove the policy</source>
        <translation>انقله إلى %1 أو احذف السياسة</translation>
    </message>
    <message>
        <source>correct or remove the policy</source>
        <translation>صحّح السياسة أو احذفها</translation>
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
        <translation>تعذّرت قراءة الملف أو الكتابة فيه</translation>
    </message>
    <message>
        <source>The file is cut short</source>
        <translation>الملف مبتور</translation>
    </message>
    <message>
        <source>The file&apos;s header is too large</source>
        <translation>ترويسة الملف أكبر من اللازم</translation>
    </message>
    <message>
        <source>The file is not valid JSON</source>
        <translation>الملف ليس JSON صالحًا</translation>
    </message>
    <message>
        <source>The file is not in the expected form</source>
        <translation>الملف ليس بالبنية المتوقَّعة</translation>
    </message>
    <message>
        <source>Unknown tensor data type</source>
        <translation>نوع بيانات موتر غير معروف</translation>
    </message>
    <message>
        <source>A tensor&apos;s shape does not match its bytes</source>
        <translation>شكل أحد الموترات لا يطابق بايتاته</translation>
    </message>
    <message>
        <source>Tensor data lies outside its place</source>
        <translation>بيانات موتر تقع خارج موضعها</translation>
    </message>
    <message>
        <source>Two tensors share the same bytes</source>
        <translation>موتران يتشاركان البايتات نفسها</translation>
    </message>
    <message>
        <source>A shard of the checkpoint is missing</source>
        <translation>جزء من نقطة الحفظ مفقود</translation>
    </message>
    <message>
        <source>The index and its shards disagree</source>
        <translation>الفهرس وأجزاؤه غير متطابقين</translation>
    </message>
    <message>
        <source>The model configuration is invalid</source>
        <translation>إعدادات النموذج غير صالحة</translation>
    </message>
    <message>
        <source>Not a format Mizan reads</source>
        <translation>ليس تنسيقًا يقرؤه ميزان</translation>
    </message>
    <message>
        <source>Invalid input</source>
        <translation>مُدخَل غير صالح</translation>
    </message>
    <message>
        <source>Invalid device map</source>
        <translation>خريطة أجهزة غير صالحة</translation>
    </message>
    <message>
        <source>The constraints cannot be met</source>
        <translation>لا يمكن استيفاء القيود</translation>
    </message>
    <message>
        <source>The plan does not match</source>
        <translation>الخطة غير مطابقة</translation>
    </message>
    <message>
        <source>Not found</source>
        <translation>غير موجود</translation>
    </message>
    <message>
        <source>Out of memory on a device</source>
        <translation>نفدت الذاكرة على أحد الأجهزة</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>أُلغي</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>خطأ</translation>
    </message>
</context>
<context>
    <name>mizan::gui::ChartsPanel</name>
    <message>
        <source>planned weights</source>
        <translation>الأوزان المخطَّطة</translation>
    </message>
    <message>
        <source>largest-layer reserve</source>
        <translation>احتياطي أكبر طبقة</translation>
    </message>
    <message>
        <source>runtime headroom</source>
        <translation>هامش التشغيل</translation>
    </message>
    <message>
        <source>limit</source>
        <translation>الحد</translation>
    </message>
    <message>
        <source>GiB</source>
        <translation>غيبيبايت</translation>
    </message>
    <message>
        <source>map entries in execution order</source>
        <translation>مدخلات الخريطة بترتيب التنفيذ</translation>
    </message>
    <message>
        <source>MiB</source>
        <translation>ميبيبايت</translation>
    </message>
    <message>
        <source>%1 on %2</source>
        <translation>%1 على %2</translation>
    </message>
    <message>
        <source>%1
of %2</source>
        <translation>%1
من %2</translation>
    </message>
    <message>
        <source>The charts show the plan: memory per device against its limit, and every map entry&apos;s size in execution order.</source>
        <translation>تعرض المخططات الخطة: ذاكرة كل جهاز مقابل حدّه، وحجم كل مدخل في الخريطة بترتيب التنفيذ.</translation>
    </message>
</context>
<context>
    <name>mizan::gui::ClusterDialog</name>
    <message>
        <source>Cluster plan: %1</source>
        <translation>خطة عنقودية: %1</translation>
    </message>
    <message numerus="yes">
        <source>%1 on %Ln host(s), %2 decoder blocks cut into one pipeline stage per host.</source>
        <translation>
            <numerusform>%1 على %Ln مضيف، %2 كتلة فك ترميز مقسّمة إلى مرحلة خط أنابيب واحدة لكل مضيف.</numerusform>
            <numerusform>%1 على مضيف واحد، %2 كتلة فك ترميز في مرحلة خط أنابيب واحدة.</numerusform>
            <numerusform>%1 على مضيفَين، %2 كتلة فك ترميز مقسّمة إلى مرحلة خط أنابيب واحدة لكل مضيف.</numerusform>
            <numerusform>%1 على %Ln مضيفات، %2 كتلة فك ترميز مقسّمة إلى مرحلة خط أنابيب واحدة لكل مضيف.</numerusform>
            <numerusform>%1 على %Ln مضيفًا، %2 كتلة فك ترميز مقسّمة إلى مرحلة خط أنابيب واحدة لكل مضيف.</numerusform>
            <numerusform>%1 على %Ln مضيف، %2 كتلة فك ترميز مقسّمة إلى مرحلة خط أنابيب واحدة لكل مضيف.</numerusform>
        </translation>
    </message>
    <message>
        <source>Predicted: about %1 per token, with %2 per token crossing each link between hosts.</source>
        <translation>المتوقع: نحو %1 لكل رمز، مع %2 لكل رمز تعبر كل وصلة بين المضيفات.</translation>
    </message>
    <message>
        <source>Hardware profile: %1.</source>
        <translation>ملف العتاد: %1.</translation>
    </message>
    <message>
        <source>block %1</source>
        <translation>الكتلة %1</translation>
    </message>
    <message>
        <source>blocks %1–%2</source>
        <translation>الكتل %1–%2</translation>
    </message>
    <message>
        <source>embeddings, %1</source>
        <translation>التضمينات، %1</translation>
    </message>
    <message>
        <source>%1, final norm and head</source>
        <translation>%1، والتطبيع الأخير والرأس</translation>
    </message>
    <message>
        <source>Host %1 — stage %2 of %3: %4</source>
        <translation>المضيف %1 — المرحلة %2 من %3: %4</translation>
    </message>
    <message>
        <source>Host %1 (%2) — stage %3 of %4: %5</source>
        <translation>المضيف %1 (%2) — المرحلة %3 من %4: %5</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 من %2</translation>
    </message>
    <message numerus="yes">
        <source>%Ln entry(s)</source>
        <translation>
            <numerusform>%Ln مدخل</numerusform>
            <numerusform>مدخل واحد</numerusform>
            <numerusform>مدخلان</numerusform>
            <numerusform>%Ln مدخلات</numerusform>
            <numerusform>%Ln مدخلًا</numerusform>
            <numerusform>%Ln مدخل</numerusform>
        </translation>
    </message>
    <message>
        <source>Predicted for this stage: about %1 per token.</source>
        <translation>المتوقع لهذه المرحلة: نحو %1 لكل رمز.</translation>
    </message>
    <message>
        <source>Hosts</source>
        <translation>المضيفات</translation>
    </message>
    <message>
        <source>Run on local ranks</source>
        <translation>التشغيل على رتب محلية</translation>
    </message>
    <message>
        <source>&amp;Max new tokens:</source>
        <translation>أقصى عدد من الرموز ال&amp;جديدة:</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;تشغيل</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Open the checkpoint this plan was made for (%1), with its weights, to run it here.</source>
        <translation>افتح نقطة الحفظ التي وُضعت لها هذه الخطة (%1)، بأوزانها، لتشغيلها هنا.</translation>
    </message>
    <message>
        <source>The open checkpoint is not the one this plan was made for: %1</source>
        <translation>نقطة الحفظ المفتوحة ليست التي وُضعت لها هذه الخطة: %1</translation>
    </message>
    <message>
        <source>This plan has a single host: run it from the Test inference page.</source>
        <translation>لهذه الخطة مضيف واحد: شغّلها من صفحة الاستدلال التجريبي.</translation>
    </message>
    <message>
        <source>&amp;Prompt:</source>
        <translation>ال&amp;موجِّه:</translation>
    </message>
    <message>
        <source>&amp;Prompt (token ids):</source>
        <translation>ال&amp;موجِّه (معرّفات الرموز):</translation>
    </message>
    <message>
        <source>Generated text</source>
        <translation>النص المُولَّد</translation>
    </message>
    <message>
        <source>Generated token ids</source>
        <translation>معرّفات الرموز المولَّدة</translation>
    </message>
    <message>
        <source>Run every host&apos;s stage here, one local rank per host, joined over 127.0.0.1</source>
        <translation>تشغيل مرحلة كل مضيف هنا، رتبة محلية لكل مضيف، متصلة عبر 127.0.0.1</translation>
    </message>
    <message numerus="yes">
        <source>Ready: Run starts %Ln local rank(s), one per host, each with its host&apos;s stage and devices.</source>
        <translation>
            <numerusform>جاهز: يبدأ التشغيل %Ln رتبة محلية، واحدة لكل مضيف، لكل منها مرحلة مضيفها وأجهزته.</numerusform>
            <numerusform>جاهز: يبدأ التشغيل رتبة محلية واحدة لكل مضيف، بمرحلة مضيفها وأجهزته.</numerusform>
            <numerusform>جاهز: يبدأ التشغيل رتبتين محليتين، واحدة لكل مضيف، لكل منهما مرحلة مضيفها وأجهزته.</numerusform>
            <numerusform>جاهز: يبدأ التشغيل %Ln رتب محلية، واحدة لكل مضيف، لكل منها مرحلة مضيفها وأجهزته.</numerusform>
            <numerusform>جاهز: يبدأ التشغيل %Ln رتبة محلية، واحدة لكل مضيف، لكل منها مرحلة مضيفها وأجهزته.</numerusform>
            <numerusform>جاهز: يبدأ التشغيل %Ln رتبة محلية، واحدة لكل مضيف، لكل منها مرحلة مضيفها وأجهزته.</numerusform>
        </translation>
    </message>
    <message>
        <source>The run failed on %1: %2: %3</source>
        <translation>فشل التشغيل على %1: %2: %3</translation>
    </message>
    <message numerus="yes">
        <source>Done: %Ln token(s) generated by %1 local ranks, one per host.</source>
        <translation>
            <numerusform>تم: لم يُولَّد أي رمز (%Ln) بواسطة %1 رتب محلية، واحدة لكل مضيف.</numerusform>
            <numerusform>تم: وُلِّد رمز واحد بواسطة %1 رتب محلية، واحدة لكل مضيف.</numerusform>
            <numerusform>تم: وُلِّد رمزان بواسطة %1 رتب محلية، واحدة لكل مضيف.</numerusform>
            <numerusform>تم: وُلِّدت %Ln رموز بواسطة %1 رتب محلية، واحدة لكل مضيف.</numerusform>
            <numerusform>تم: وُلِّد %Ln رمزًا بواسطة %1 رتب محلية، واحدة لكل مضيف.</numerusform>
            <numerusform>تم: وُلِّد %Ln رمز بواسطة %1 رتب محلية، واحدة لكل مضيف.</numerusform>
        </translation>
    </message>
    <message>
        <source>Close</source>
        <translation>إغلاق</translation>
    </message>
</context>
<context>
    <name>mizan::gui::CompareDialog</name>
    <message>
        <source>Compare plans</source>
        <translation>مقارنة الخطط</translation>
    </message>
    <message numerus="yes">
        <source>plan file, %Ln entries</source>
        <translation>
            <numerusform>ملف خطة، بلا مدخلات</numerusform>
            <numerusform>ملف خطة، مدخل واحد</numerusform>
            <numerusform>ملف خطة، مدخلان</numerusform>
            <numerusform>ملف خطة، %Ln مدخلات</numerusform>
            <numerusform>ملف خطة، %Ln مدخلًا</numerusform>
            <numerusform>ملف خطة، %Ln مدخل</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>device map, %Ln entries</source>
        <translation>
            <numerusform>خريطة أجهزة، بلا مدخلات</numerusform>
            <numerusform>خريطة أجهزة، مدخل واحد</numerusform>
            <numerusform>خريطة أجهزة، مدخلان</numerusform>
            <numerusform>خريطة أجهزة، %Ln مدخلات</numerusform>
            <numerusform>خريطة أجهزة، %Ln مدخلًا</numerusform>
            <numerusform>خريطة أجهزة، %Ln مدخل</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>A: the map on screen (%Ln entries)</source>
        <translation>
            <numerusform>أ: الخريطة التي على الشاشة (بلا مدخلات)</numerusform>
            <numerusform>أ: الخريطة التي على الشاشة (مدخل واحد)</numerusform>
            <numerusform>أ: الخريطة التي على الشاشة (مدخلان)</numerusform>
            <numerusform>أ: الخريطة التي على الشاشة (%Ln مدخلات)</numerusform>
            <numerusform>أ: الخريطة التي على الشاشة (%Ln مدخلًا)</numerusform>
            <numerusform>أ: الخريطة التي على الشاشة (%Ln مدخل)</numerusform>
        </translation>
    </message>
    <message>
        <source>B: %1 (%2)</source>
        <translation>ب: %1 (%2)</translation>
    </message>
    <message>
        <source>Predicted speed on this machine</source>
        <translation>السرعة المتوقَّعة على هذا الجهاز</translation>
    </message>
    <message>
        <source>A</source>
        <translation>أ</translation>
    </message>
    <message>
        <source>B</source>
        <translation>ب</translation>
    </message>
    <message>
        <source>Time per token</source>
        <translation>الزمن لكل رمز</translation>
    </message>
    <message>
        <source>Tokens per second</source>
        <translation>رموز في الثانية</translation>
    </message>
    <message>
        <source>not predictable</source>
        <translation>لا يمكن توقُّعها</translation>
    </message>
    <message>
        <source>One of the maps leaves weights without a device: its speed cannot be predicted.</source>
        <translation>إحدى الخريطتين تترك أوزانًا بلا جهاز: لا يمكن توقُّع سرعتها.</translation>
    </message>
    <message>
        <source>A and B decode at about the same speed.</source>
        <translation>تولِّد أ وب الرموز بالسرعة نفسها تقريبًا.</translation>
    </message>
    <message>
        <source>B decodes about %1x faster than A.</source>
        <translation>تولِّد ب الرموز أسرع من أ بنحو %1 مرة.</translation>
    </message>
    <message>
        <source>B decodes about %1x slower than A.</source>
        <translation>تولِّد ب الرموز أبطأ من أ بنحو %1 مرة.</translation>
    </message>
    <message>
        <source>(Speeds assumed: run mizan-cli calibrate for this machine&apos;s.)</source>
        <translation>(السرعات مفترضة: شغّل mizan-cli calibrate لقياس سرعات هذا الجهاز.)</translation>
    </message>
    <message>
        <source>Memory per device</source>
        <translation>الذاكرة لكل جهاز</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>الجهاز</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>التغيُّر</translation>
    </message>
    <message>
        <source>Moved modules</source>
        <translation>الوحدات المنقولة</translation>
    </message>
    <message numerus="yes">
        <source>Moved modules: %Ln, %1</source>
        <translation>
            <numerusform>الوحدات المنقولة: لا شيء، %1</numerusform>
            <numerusform>الوحدات المنقولة: وحدة واحدة، %1</numerusform>
            <numerusform>الوحدات المنقولة: وحدتان، %1</numerusform>
            <numerusform>الوحدات المنقولة: %Ln وحدات، %1</numerusform>
            <numerusform>الوحدات المنقولة: %Ln وحدة، %1</numerusform>
            <numerusform>الوحدات المنقولة: %Ln وحدة، %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Module</source>
        <translation>الوحدة</translation>
    </message>
    <message>
        <source>In A</source>
        <translation>في أ</translation>
    </message>
    <message>
        <source>In B</source>
        <translation>في ب</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>الحجم</translation>
    </message>
    <message>
        <source>(whole model)</source>
        <translation>(النموذج كله)</translation>
    </message>
    <message>
        <source>No module moved: A and B place every weight alike.</source>
        <translation>لم تُنقل أي وحدة: تضع أ وب كل وزن في المكان نفسه.</translation>
    </message>
    <message>
        <source>The maps name modules differently (%1 keys only in A, %2 only in B); compared weight by weight.</source>
        <translation>تسمّي الخريطتان الوحدات بطريقتين مختلفتين (%1 مفتاحًا في أ وحدها، و%2 في ب وحدها)؛ فقورنتا وزنًا وزنًا.</translation>
    </message>
    <message>
        <source>A and B load the weights in different dtypes: bytes in A are sized as A loads them, in B as B does.</source>
        <translation>تحمِّل أ وب الأوزان بنوعَي بيانات مختلفين: تُحسب بايتات أ كما تحمِّلها أ، وبايتات ب كما تحمِّلها ب.</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>إغلاق</translation>
    </message>
    <message>
        <source>Prompt of %1 tokens</source>
        <translation>موجِّه من %1 رمزًا</translation>
    </message>
</context>
<context>
    <name>mizan::gui::DetailPane</name>
    <message>
        <source>Tensor</source>
        <translation>الموتر</translation>
    </message>
    <message>
        <source>Shape</source>
        <translation>الشكل</translation>
    </message>
    <message>
        <source>Dtype</source>
        <translation>نوع البيانات</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>الحجم</translation>
    </message>
    <message>
        <source>Shard</source>
        <translation>ملف الجزء</translation>
    </message>
    <message>
        <source>Select a module to see its tensors and why it is where it is.</source>
        <translation>اختر وحدة لترى موتراتها وسبب وجودها حيث هي.</translation>
    </message>
    <message>
        <source>%1 parameters, %2</source>
        <translation>%1 معامل، %2</translation>
    </message>
    <message>
        <source>Device: %1</source>
        <translation>الجهاز: %1</translation>
    </message>
    <message>
        <source>Why: %1</source>
        <translation>السبب: %1</translation>
    </message>
    <message>
        <source>not stored (non-persistent buffer)</source>
        <translation>غير مخزَّن (مخزن مؤقت غير دائم)</translation>
    </message>
    <message>
        <source>tied (stored once)</source>
        <translation>مربوط (مخزَّن مرة واحدة)</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>مفقود</translation>
    </message>
    <message>
        <source>(buffer)</source>
        <translation>(مخزن مؤقت)</translation>
    </message>
    <message>
        <source>%1 → %2</source>
        <translation>%1 ← %2</translation>
    </message>
    <message>
        <source>Showing %1 of %2 tensors.</source>
        <translation>يُعرض %1 من أصل %2 موتر.</translation>
    </message>
</context>
<context>
    <name>mizan::gui::DevicePanel</name>
    <message>
        <source>Use the hardware profile %1</source>
        <translation>استخدام ملف العتاد %1</translation>
    </message>
    <message>
        <source>Hardware profile:</source>
        <translation>ملف العتاد:</translation>
    </message>
    <message>
        <source>Choose a profile…</source>
        <translation>اختر ملفًا…</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>الجهاز</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>الحد</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>الوحدة</translation>
    </message>
    <message>
        <source>Add simulated GPU</source>
        <translation>إضافة معالج رسوميات محاكى</translation>
    </message>
    <message>
        <source>Load dtype:</source>
        <translation>نوع التحميل:</translation>
    </message>
    <message>
        <source>Strategy:</source>
        <translation>الاستراتيجية:</translation>
    </message>
    <message>
        <source>as stored</source>
        <translation>كما هو مخزَّن</translation>
    </message>
    <message>
        <source>auto and balanced spread the model evenly over the GPUs; balanced_low_0 keeps GPU 0 light for generation; sequential fills each GPU in turn.</source>
        <translation>auto وbalanced توزِّعان النموذج بالتساوي على معالجات الرسوميات؛ balanced_low_0 يُبقي GPU 0 خفيفًا للتوليد؛ sequential يملأ كل معالج رسوميات بدوره.</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>خطِّط</translation>
    </message>
    <message>
        <source>Compute a device map for these limits (F5)</source>
        <translation>احسب خريطة أجهزة لهذه الحدود (F5)</translation>
    </message>
    <message>
        <source>A simulated GPU: a separate CPU memory arena with this capacity.</source>
        <translation>معالج رسوميات محاكى: منطقة منفصلة من ذاكرة المعالج المركزي بهذه السعة.</translation>
    </message>
    <message>
        <source>GiB</source>
        <translation>غيبيبايت</translation>
    </message>
    <message>
        <source>GB</source>
        <translation>غيغابايت</translation>
    </message>
    <message>
        <source>MiB</source>
        <translation>ميبيبايت</translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation>إزالة %1</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>غير محدود</translation>
    </message>
    <message numerus="yes">
        <source>%Ln map entries, %1 in total.</source>
        <translation>
            <numerusform>لا مدخلات في الخريطة، %1 إجمالًا.</numerusform>
            <numerusform>مدخل واحد في الخريطة، %1 إجمالًا.</numerusform>
            <numerusform>مدخلان في الخريطة، %1 إجمالًا.</numerusform>
            <numerusform>%Ln مدخلات في الخريطة، %1 إجمالًا.</numerusform>
            <numerusform>%Ln مدخلًا في الخريطة، %1 إجمالًا.</numerusform>
            <numerusform>%Ln مدخل في الخريطة، %1 إجمالًا.</numerusform>
        </translation>
    </message>
    <message>
        <source>No plan yet: press Plan.</source>
        <translation>لا توجد خطة بعد: اضغط «خطِّط».</translation>
    </message>
    <message>
        <source>No CUDA GPU in this build: add simulated GPUs or choose a hardware profile.</source>
        <translation>لا يوجد معالج رسوميات CUDA في هذا البناء: أضف معالجات رسوميات محاكاة أو اختر ملف عتاد.</translation>
    </message>
    <message>
        <source>This machine (detected)</source>
        <translation>هذا الحاسوب (مكتشَف)</translation>
    </message>
    <message>
        <source>Generation headroom:</source>
        <translation>هامش التوليد:</translation>
    </message>
    <message>
        <source>none</source>
        <translation>لا شيء</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> رمز</translation>
    </message>
    <message>
        <source>Keep room on every GPU for the KV cache and activations of this many tokens (prompt + generated).</source>
        <translation>أبقِ على كل معالج رسوميات متَّسعًا لذاكرة KV المؤقتة وللتنشيطات لهذا العدد من الرموز (المُدخلة والمولَّدة).</translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation>حجم الدفعة:</translation>
    </message>
    <message>
        <source>Sequences generated at once: the KV cache grows with it.</source>
        <translation>عدد التسلسلات المولَّدة معًا: تكبر ذاكرة KV المؤقتة بزيادته.</translation>
    </message>
    <message>
        <source>Looking for GPUs…</source>
        <translation>جارٍ البحث عن معالجات الرسوميات…</translation>
    </message>
    <message>
        <source>No CUDA GPU found (check the driver and CUDA_VISIBLE_DEVICES): add simulated GPUs or choose a hardware profile.</source>
        <translation>لم يُعثر على معالج رسوميات CUDA (تحقَّق من برنامج التشغيل ومن CUDA_VISIBLE_DEVICES): أضف معالجات رسوميات محاكاة أو اختر ملف عتاد.</translation>
    </message>
    <message>
        <source>GPU %1: %2, %3 free of %4</source>
        <translation>معالج رسوميات %1: %2، المتاح %3 من %4</translation>
    </message>
    <message numerus="yes">
        <source>This machine has %Ln CUDA GPU(s):</source>
        <translation>
            <numerusform>لا يحتوي هذا الحاسوب على أي معالج رسوميات CUDA:</numerusform>
            <numerusform>يحتوي هذا الحاسوب على معالج رسوميات CUDA واحد:</numerusform>
            <numerusform>يحتوي هذا الحاسوب على معالجَي رسوميات CUDA:</numerusform>
            <numerusform>يحتوي هذا الحاسوب على %Ln معالجات رسوميات CUDA:</numerusform>
            <numerusform>يحتوي هذا الحاسوب على %Ln معالجًا للرسوميات CUDA:</numerusform>
            <numerusform>يحتوي هذا الحاسوب على %Ln معالج رسوميات CUDA:</numerusform>
        </translation>
    </message>
    <message>
        <source>%1: %2 free of %3 when Mizan started</source>
        <translation>%1: كان المتاح %2 من %3 عند بدء ميزان</translation>
    </message>
    <message>
        <source>Reserved per GPU: %1 for activations + %2 of KV cache per layer it holds.</source>
        <translation>المحجوز لكل معالج رسوميات: %1 للتنشيطات + %2 من ذاكرة KV المؤقتة لكل طبقة يحملها.</translation>
    </message>
    <message>
        <source>Predicted on this machine: about %1 per token (%2 tokens/s), prompt of 32 tokens in %3.</source>
        <translation>المتوقع على هذا الجهاز: نحو %1 لكل رمز (%2 رمزًا في الثانية)، ومُدخل من 32 رمزًا في %3.</translation>
    </message>
    <message numerus="yes">
        <source>%Ln steps offloaded (%1 from disk), %2 moved per token: about %3x slower than with every weight resident.</source>
        <translation>
            <numerusform>لا خطوات منقولة خارج المعالج (%1 من القرص)، ويُنقل %2 لكل رمز: أبطأ بنحو %3 مرة مما لو كانت كل الأوزان مقيمة.</numerusform>
            <numerusform>خطوة واحدة منقولة (%1 من القرص)، ويُنقل %2 لكل رمز: أبطأ بنحو %3 مرة مما لو كانت كل الأوزان مقيمة.</numerusform>
            <numerusform>خطوتان منقولتان (%1 من القرص)، ويُنقل %2 لكل رمز: أبطأ بنحو %3 مرة مما لو كانت كل الأوزان مقيمة.</numerusform>
            <numerusform>%Ln خطوات منقولة (%1 من القرص)، ويُنقل %2 لكل رمز: أبطأ بنحو %3 مرة مما لو كانت كل الأوزان مقيمة.</numerusform>
            <numerusform>%Ln خطوة منقولة (%1 من القرص)، ويُنقل %2 لكل رمز: أبطأ بنحو %3 مرة مما لو كانت كل الأوزان مقيمة.</numerusform>
            <numerusform>%Ln خطوة منقولة (%1 من القرص)، ويُنقل %2 لكل رمز: أبطأ بنحو %3 مرة مما لو كانت كل الأوزان مقيمة.</numerusform>
        </translation>
    </message>
    <message>
        <source>(Speeds assumed: run mizan-cli calibrate for this machine&apos;s.)</source>
        <translation>(السرعات مفترضة: شغّل mizan-cli calibrate لقياس سرعات هذا الجهاز.)</translation>
    </message>
</context>
<context>
    <name>mizan::gui::Document</name>
    <message>
        <source>Set the limit of %1</source>
        <translation>تعيين حد %1</translation>
    </message>
    <message>
        <source>Add simulated GPU %1</source>
        <translation>إضافة معالج الرسوميات المحاكى %1</translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation>إزالة %1</translation>
    </message>
    <message>
        <source>Set the dtype to %1</source>
        <translation>تعيين نوع البيانات إلى %1</translation>
    </message>
    <message>
        <source>as stored</source>
        <translation>كما هو مخزَّن</translation>
    </message>
    <message>
        <source>Change the no-split classes</source>
        <translation>تغيير الأصناف التي لا تُقسَّم</translation>
    </message>
    <message>
        <source>Set the strategy to %1</source>
        <translation>تعيين الاستراتيجية إلى %1</translation>
    </message>
    <message>
        <source>Pin %1 to %2</source>
        <translation>تثبيت %1 على %2</translation>
    </message>
    <message>
        <source>Unpin %1</source>
        <translation>إلغاء تثبيت %1</translation>
    </message>
    <message>
        <source>GPU %1 (simulated)</source>
        <translation>معالج رسوميات %1 (محاكى)</translation>
    </message>
    <message>
        <source>GPU %1</source>
        <translation>معالج رسوميات %1</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>المعالج المركزي</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>القرص</translation>
    </message>
    <message>
        <source>MPS</source>
        <translation>MPS</translation>
    </message>
    <message>
        <source>Plan (%1)</source>
        <translation>خطة (%1)</translation>
    </message>
    <message>
        <source>Move %1 to %2</source>
        <translation>نقل %1 إلى %2</translation>
    </message>
    <message numerus="yes">
        <source>Move %Ln modules to %1</source>
        <translation>
            <numerusform>نقل %Ln وحدة إلى %1</numerusform>
            <numerusform>نقل وحدة واحدة إلى %1</numerusform>
            <numerusform>نقل وحدتين إلى %1</numerusform>
            <numerusform>نقل %Ln وحدات إلى %1</numerusform>
            <numerusform>نقل %Ln وحدةً إلى %1</numerusform>
            <numerusform>نقل %Ln وحدة إلى %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Pinned to %1 by you.</source>
        <translation>ثبَّتَّه أنت على %1.</translation>
    </message>
    <message>
        <source>Moved to %1 by you; the plan put it on %2.</source>
        <translation>نقلتَه إلى %1؛ وكانت الخطة قد وضعته على %2.</translation>
    </message>
    <message>
        <source>Moved to %1 by you.</source>
        <translation>نقلتَه إلى %1.</translation>
    </message>
    <message numerus="yes">
        <source>Its parts are on %Ln devices.</source>
        <translation>
            <numerusform>أجزاؤه على %Ln جهاز.</numerusform>
            <numerusform>أجزاؤه على جهاز واحد.</numerusform>
            <numerusform>أجزاؤه على جهازين.</numerusform>
            <numerusform>أجزاؤه على %Ln أجهزة.</numerusform>
            <numerusform>أجزاؤه على %Ln جهازًا.</numerusform>
            <numerusform>أجزاؤه على %Ln جهاز.</numerusform>
        </translation>
    </message>
    <message>
        <source>Import %1</source>
        <translation>استيراد %1</translation>
    </message>
    <message>
        <source>Use this machine&apos;s devices</source>
        <translation>استخدام أجهزة هذا الحاسوب</translation>
    </message>
    <message numerus="yes">
        <source>Reserve headroom for %Ln tokens</source>
        <translation>
            <numerusform>حجز هامش لصفر من الرموز</numerusform>
            <numerusform>حجز هامش لرمز واحد</numerusform>
            <numerusform>حجز هامش لرمزين</numerusform>
            <numerusform>حجز هامش لـ%Ln رموز</numerusform>
            <numerusform>حجز هامش لـ%Ln رمزًا</numerusform>
            <numerusform>حجز هامش لـ%Ln رمز</numerusform>
        </translation>
    </message>
    <message>
        <source>This model&apos;s config gives no hidden size, so no headroom can be reserved for it.</source>
        <translation>لا تذكر إعدادات هذا النموذج الحجم المخفي (hidden size)، فلا يمكن حجز هامش له.</translation>
    </message>
    <message>
        <source>Open a checkpoint to run it.</source>
        <translation>افتح نقطة حفظ لتشغيلها.</translation>
    </message>
    <message>
        <source>%1 describes a model without its weights: test inference needs a checkpoint with weights.</source>
        <translation>يصف %1 نموذجًا بلا أوزانه: يحتاج الاستدلال التجريبي إلى نقطة حفظ فيها الأوزان.</translation>
    </message>
    <message>
        <source>Wait for the plan.</source>
        <translation>انتظر اكتمال الخطة.</translation>
    </message>
    <message>
        <source>There is no device map to run yet.</source>
        <translation>لا توجد خريطة أجهزة لتشغيلها بعد.</translation>
    </message>
    <message numerus="yes">
        <source>The device map has %Ln error(s): fix them (see Problems) to run it.</source>
        <translation>
            <numerusform>في خريطة الأجهزة %Ln من الأخطاء: أصلحها (انظر المشكلات) لتشغيلها.</numerusform>
            <numerusform>في خريطة الأجهزة خطأ واحد (%Ln): أصلحه (انظر المشكلات) لتشغيلها.</numerusform>
            <numerusform>في خريطة الأجهزة خطآن (%Ln): أصلحهما (انظر المشكلات) لتشغيلها.</numerusform>
            <numerusform>في خريطة الأجهزة %Ln أخطاء: أصلحها (انظر المشكلات) لتشغيلها.</numerusform>
            <numerusform>في خريطة الأجهزة %Ln خطأً: أصلحها (انظر المشكلات) لتشغيلها.</numerusform>
            <numerusform>في خريطة الأجهزة %Ln خطأ: أصلحها (انظر المشكلات) لتشغيلها.</numerusform>
        </translation>
    </message>
    <message>
        <source>Add the policy %1</source>
        <translation>إضافة السياسة %1</translation>
    </message>
    <message>
        <source>Remove the policy %1</source>
        <translation>حذف السياسة %1</translation>
    </message>
</context>
<context>
    <name>mizan::gui::LiveView</name>
    <message>
        <source>another device</source>
        <translation>جهاز آخر</translation>
    </message>
    <message>
        <source>%1 (simulated)</source>
        <comment>a simulated GPU</comment>
        <translation>%1 (محاكى)</translation>
    </message>
    <message>
        <source>GPU %1</source>
        <translation>معالج رسوميات %1</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>المعالج المركزي</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>القرص</translation>
    </message>
    <message>
        <source>MPS</source>
        <translation>MPS</translation>
    </message>
    <message>
        <source>simulated</source>
        <comment>badge on the lane of a simulated GPU</comment>
        <translation>محاكى</translation>
    </message>
    <message>
        <source>nothing placed here</source>
        <translation>لم يوضع شيء هنا</translation>
    </message>
    <message>
        <source>Blocks light up as they compute. Weights brought to the device that runs them fly there and leave when released; dashed: prefetched.</source>
        <translation>تضيء الكتل أثناء حسابها. تطير الأوزان إلى الجهاز الذي يشغّلها وتغادره عند تحريرها؛ المتقطّعة جُلبت مسبقًا.</translation>
    </message>
    <message>
        <source>%1 now, peak %2</source>
        <translation>%1 الآن، والذروة %2</translation>
    </message>
    <message>
        <source>%1 placed here</source>
        <translation>%1 موضوعة هنا</translation>
    </message>
    <message>
        <source>The live view shows the devices of the plan once a test inference starts.</source>
        <translation>يعرض العرض الحي أجهزة الخطة حين يبدأ استدلال تجريبي.</translation>
    </message>
    <message>
        <source>%1: %2 brought from %3 to %4 ahead of its turn (prefetched)</source>
        <translation>%1: %2 نُقلت من %3 إلى %4 قبل دورها (جلب مسبق)</translation>
    </message>
    <message>
        <source>%1: %2 brought from %3 to %4</source>
        <translation>%1: %2 نُقلت من %3 إلى %4</translation>
    </message>
    <message>
        <source>%1: %2 on %3</source>
        <translation>%1: %2 على %3</translation>
    </message>
    <message>
        <source>Memory now: %1</source>
        <translation>الذاكرة الآن: %1</translation>
    </message>
    <message>
        <source>Peak: %1</source>
        <translation>الذروة: %1</translation>
    </message>
    <message>
        <source>Planned: %1</source>
        <translation>المخطَّط: %1</translation>
    </message>
    <message>
        <source>Limit: %1</source>
        <translation>الحد: %1</translation>
    </message>
    <message>
        <source>token</source>
        <translation>الرمز</translation>
    </message>
    <message>
        <source>ms</source>
        <translation>ملّي ثانية</translation>
    </message>
    <message>
        <source>time of the token</source>
        <translation>زمن الرمز</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 ملّي ثانية</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 ثانية</translation>
    </message>
    <message>
        <source>%1%</source>
        <comment>a percentage</comment>
        <translation>%1٪</translation>
    </message>
    <message>
        <source>No token was generated, so there is no time per token to explain.</source>
        <translation>لم يُولَّد أي رمز، فلا زمن لكل رمز يُشرح.</translation>
    </message>
    <message>
        <source>%1 of each token is spent reading %2 from disk</source>
        <translation>يُقضى %1 من زمن كل رمز في قراءة %2 من القرص</translation>
    </message>
    <message>
        <source>%1 of each token is spent moving %2 from %3 to %4</source>
        <translation>يُقضى %1 من زمن كل رمز في نقل %2 من %3 إلى %4</translation>
    </message>
    <message>
        <source>%1 of each token is spent computing on %2</source>
        <translation>يُقضى %1 من زمن كل رمز في الحساب على %2</translation>
    </message>
    <message>
        <source>%1; prefetch hid %2 of the transfers (%3 per token) behind the computation</source>
        <translation>%1؛ وأخفى الجلب المسبق %2 من زمن النقل (%3 لكل رمز) خلف الحساب</translation>
    </message>
    <message>
        <source>%1.</source>
        <comment>ends the sentence saying where time went</comment>
        <translation>%1.</translation>
    </message>
    <message>
        <source>The run was cancelled.</source>
        <translation>أُلغي التشغيل.</translation>
    </message>
    <message>
        <source>The run failed.</source>
        <translation>فشل التشغيل.</translation>
    </message>
    <message>
        <source>%1: computing %2</source>
        <translation>%1: الحساب %2</translation>
    </message>
    <message>
        <source>%1: computing %2, receiving weights %3 (%4)</source>
        <translation>%1: الحساب %2، واستقبال الأوزان %3 (%4)</translation>
    </message>
    <message>
        <source>peak %1 against %2 planned</source>
        <translation>الذروة %1 مقابل %2 مخطَّطة</translation>
    </message>
    <message>
        <source>peak %1</source>
        <translation>الذروة %1</translation>
    </message>
    <message>
        <source>%1; %2</source>
        <comment>a device&apos;s work; its memory</comment>
        <translation>%1؛ %2</translation>
    </message>
    <message>
        <source>computing (in its device&apos;s colour)</source>
        <translation>الحساب (بلون جهازه)</translation>
    </message>
    <message>
        <source>weights brought in (hatched)</source>
        <translation>الأوزان المنقولة (مظلَّلة)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <comment>a host and one of its devices</comment>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1: sent %2 and received %3 between hosts, waiting %4 for the others</source>
        <translation>%1: أرسل %2 واستقبل %3 بين المضيفات، وانتظر الآخرين %4</translation>
    </message>
</context>
<context>
    <name>mizan::gui::MainWindow</name>
    <message>
        <source>Opening %1…</source>
        <translation>جارٍ فتح %1…</translation>
    </message>
    <message>
        <source>%1 of %2 shards</source>
        <translation>%1 من %2 أجزاء</translation>
    </message>
    <message>
        <source>%1 — Mizan</source>
        <translation>%1 — ميزان</translation>
    </message>
    <message>
        <source>Opening cancelled.</source>
        <translation>أُلغي الفتح.</translation>
    </message>
    <message>
        <source>Cannot open</source>
        <translation>تعذَّر الفتح</translation>
    </message>
    <message>
        <source>Cannot plan</source>
        <translation>تعذَّر التخطيط</translation>
    </message>
    <message>
        <source>Open a checkpoint folder</source>
        <translation>افتح مجلد نقطة حفظ</translation>
    </message>
    <message>
        <source>Ctrl+Shift+O</source>
        <translation>Ctrl+Shift+O</translation>
    </message>
    <message>
        <source>Open a checkpoint file</source>
        <translation>افتح ملف نقطة حفظ</translation>
    </message>
    <message>
        <source>Import a device map</source>
        <translation>استيراد خريطة أجهزة</translation>
    </message>
    <message>
        <source>Device map (*.json)</source>
        <translation>خريطة أجهزة (*.json)</translation>
    </message>
    <message>
        <source>Open a plan</source>
        <translation>فتح خطة</translation>
    </message>
    <message>
        <source>Mizan plan (*.mizan.json);;JSON (*.json)</source>
        <translation>خطة ميزان (*.mizan.json);;JSON (*.json)</translation>
    </message>
    <message>
        <source>Ctrl+E</source>
        <translation>Ctrl+E</translation>
    </message>
    <message>
        <source>Export the device map</source>
        <translation>تصدير خريطة الأجهزة</translation>
    </message>
    <message>
        <source>Export max_memory</source>
        <translation>تصدير max_memory</translation>
    </message>
    <message>
        <source>max_memory (*.json)</source>
        <translation>max_memory (*.json)</translation>
    </message>
    <message>
        <source>Save the plan</source>
        <translation>حفظ الخطة</translation>
    </message>
    <message>
        <source>Mizan plan (*.mizan.json)</source>
        <translation>خطة ميزان (*.mizan.json)</translation>
    </message>
    <message>
        <source>Ctrl+Shift+C</source>
        <translation>Ctrl+Shift+C</translation>
    </message>
    <message>
        <source>Python snippet copied to the clipboard.</source>
        <translation>نُسخت شيفرة بايثون إلى الحافظة.</translation>
    </message>
    <message>
        <source>About Mizan</source>
        <translation>عن ميزان</translation>
    </message>
    <message>
        <source>&lt;b&gt;Mizan&lt;/b&gt; %1&lt;br/&gt;Plans device maps for checkpoints bigger than one GPU, matching Accelerate&apos;s infer_auto_device_map.</source>
        <translation>&lt;b&gt;ميزان&lt;/b&gt; %1&lt;br/&gt;يخطِّط خرائط الأجهزة لنقاط الحفظ الأكبر من معالج رسوميات واحد، مطابقًا لدالة infer_auto_device_map في Accelerate.</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;ملف</translation>
    </message>
    <message>
        <source>Open &amp;preset</source>
        <translation>فتح نموذج &amp;جاهز</translation>
    </message>
    <message>
        <source>Open &amp;recent</source>
        <translation>الملفات ال&amp;حديثة</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>ا&amp;ستيراد</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>ت&amp;صدير</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;تحرير</translation>
    </message>
    <message>
        <source>&amp;Move to</source>
        <translation>&amp;نقل إلى</translation>
    </message>
    <message>
        <source>&amp;Pin to</source>
        <translation>ت&amp;ثبيت على</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;عرض</translation>
    </message>
    <message>
        <source>&amp;Plan</source>
        <translation>&amp;خطة</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>اللغ&amp;ة</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>م&amp;ساعدة</translation>
    </message>
    <message>
        <source>&amp;Open folder…</source>
        <translation>&amp;فتح مجلد…</translation>
    </message>
    <message>
        <source>Open &amp;file…</source>
        <translation>فتح م&amp;لف…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;خروج</translation>
    </message>
    <message>
        <source>Device map JSON…</source>
        <translation>خريطة أجهزة JSON…</translation>
    </message>
    <message>
        <source>Plan file…</source>
        <translation>ملف خطة…</translation>
    </message>
    <message>
        <source>Export device map…</source>
        <translation>تصدير خريطة الأجهزة…</translation>
    </message>
    <message>
        <source>max_memory JSON…</source>
        <translation>max_memory بصيغة JSON…</translation>
    </message>
    <message>
        <source>&amp;Save plan…</source>
        <translation>&amp;حفظ الخطة…</translation>
    </message>
    <message>
        <source>Copy Python snippet</source>
        <translation>نسخ شيفرة بايثون</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>ت&amp;راجع</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>إ&amp;عادة</translation>
    </message>
    <message>
        <source>Unpin</source>
        <translation>إلغاء التثبيت</translation>
    </message>
    <message>
        <source>Filter modules…</source>
        <translation>تصفية الوحدات…</translation>
    </message>
    <message>
        <source>Expand selected</source>
        <translation>توسيع المحدَّد</translation>
    </message>
    <message>
        <source>Collapse all</source>
        <translation>طي الكل</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>خطِّط</translation>
    </message>
    <message>
        <source>Compute a device map for these limits (F5)</source>
        <translation>احسب خريطة أجهزة لهذه الحدود (F5)</translation>
    </message>
    <message>
        <source>&amp;About Mizan</source>
        <translation>&amp;عن ميزان</translation>
    </message>
    <message>
        <source>Devices and limits</source>
        <translation>الأجهزة والحدود</translation>
    </message>
    <message>
        <source>No-split classes</source>
        <translation>أصناف لا تُقسَّم</translation>
    </message>
    <message>
        <source>Memory per device and per layer</source>
        <translation>الذاكرة لكل جهاز ولكل طبقة</translation>
    </message>
    <message>
        <source>History</source>
        <translation>السجل</translation>
    </message>
    <message>
        <source>&lt;opened&gt;</source>
        <translation>&lt;عند الفتح&gt;</translation>
    </message>
    <message>
        <source>Filter by module name or class…</source>
        <translation>تصفية حسب اسم الوحدة أو صنفها…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>شريط الأدوات الرئيسي</translation>
    </message>
    <message>
        <source>Mizan</source>
        <translation>ميزان</translation>
    </message>
    <message>
        <source>Open a checkpoint, a config.json or a preset to begin.</source>
        <translation>افتح نقطة حفظ أو ملف config.json أو نموذجًا جاهزًا للبدء.</translation>
    </message>
    <message>
        <source>unknown architecture</source>
        <translation>بنية غير معروفة</translation>
    </message>
    <message>
        <source>%1: %2 parameters, %3, %4 modules</source>
        <translation>%1: %2 معامل، %3، %4 وحدة</translation>
    </message>
    <message>
        <source>config only</source>
        <translation>الإعدادات فقط</translation>
    </message>
    <message>
        <source>opened in %1 ms</source>
        <translation>فُتح خلال %1 ملّي ثانية</translation>
    </message>
    <message>
        <source>planning…</source>
        <translation>جارٍ التخطيط…</translation>
    </message>
    <message>
        <source>Move to</source>
        <translation>نقل إلى</translation>
    </message>
    <message>
        <source>Pin to</source>
        <translation>تثبيت على</translation>
    </message>
    <message>
        <source>Copy name</source>
        <translation>نسخ الاسم</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>حُفظ %1</translation>
    </message>
    <message>
        <source>Cannot save</source>
        <translation>تعذَّر الحفظ</translation>
    </message>
    <message>
        <source>Imported %1</source>
        <translation>استُورد %1</translation>
    </message>
    <message>
        <source>Cannot import</source>
        <translation>تعذَّر الاستيراد</translation>
    </message>
    <message>
        <source>&amp;Undo %1</source>
        <translation>ت&amp;راجع عن %1</translation>
    </message>
    <message>
        <source>&amp;Redo %1</source>
        <translation>إ&amp;عادة %1</translation>
    </message>
    <message>
        <source>Test inference</source>
        <translation>استدلال تجريبي</translation>
    </message>
    <message>
        <source>Generate a few tokens with the weights placed as planned, and watch them move (F6)</source>
        <translation>ولّد بضعة رموز والأوزان موضوعة كما في الخطة، وشاهدها تنتقل (F6)</translation>
    </message>
    <message>
        <source>Cancel test inference</source>
        <translation>إلغاء الاستدلال التجريبي</translation>
    </message>
    <message>
        <source>Checkpoints (*.safetensors *.bin *.pt *.pth *.json);;All files (*)</source>
        <translation>نقاط الحفظ (*.safetensors *.bin *.pt *.pth *.json);;كل الملفات (*)</translation>
    </message>
    <message>
        <source>Policies</source>
        <translation>السياسات</translation>
    </message>
    <message>
        <source>Compare with a plan</source>
        <translation>المقارنة بخطة</translation>
    </message>
    <message>
        <source>Mizan plan or device map (*.json)</source>
        <translation>خطة ميزان أو خريطة أجهزة (*.json)</translation>
    </message>
    <message>
        <source>&amp;Compare with plan…</source>
        <translation>&amp;مقارنة بخطة…</translation>
    </message>
    <message>
        <source>Show the map on screen and a saved plan or device map side by side: what moved, memory per device, predicted speed</source>
        <translation>اعرض الخريطة التي على الشاشة وخطةً محفوظة أو خريطة أجهزة جنبًا إلى جنب: ما نُقل، والذاكرة لكل جهاز، والسرعة المتوقَّعة</translation>
    </message>
    <message>
        <source>Cannot compare</source>
        <translation>تعذَّرت المقارنة</translation>
    </message>
    <message>
        <source>Open a cluster plan</source>
        <translation>فتح خطة عنقودية</translation>
    </message>
    <message>
        <source>Mizan cluster plan (*.json)</source>
        <translation>خطة ميزان العنقودية (*.json)</translation>
    </message>
    <message>
        <source>Open c&amp;luster plan…</source>
        <translation>فتح خطة &amp;عنقودية…</translation>
    </message>
    <message>
        <source>Show a plan made for several hosts (mizan-cli plan --hardware CLUSTER): each host&apos;s stage and device lanes</source>
        <translation>عرض خطة مُعدّة لعدة مضيفات (mizan-cli plan --hardware CLUSTER): مرحلة كل مضيف ومسارات أجهزته</translation>
    </message>
    <message>
        <source>Cannot open the cluster plan</source>
        <translation>تعذّر فتح الخطة العنقودية</translation>
    </message>
</context>
<context>
    <name>mizan::gui::ModuleTreeModel</name>
    <message>
        <source>mixed</source>
        <translation>مختلط</translation>
    </message>
    <message>
        <source>split: %1</source>
        <translation>مقسَّم: %1</translation>
    </message>
    <message>
        <source>, </source>
        <comment>list separator</comment>
        <translation>، </translation>
    </message>
    <message>
        <source>Module</source>
        <translation>الوحدة</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>الصنف</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>المعاملات</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>الحجم</translation>
    </message>
    <message>
        <source>Dtype</source>
        <translation>نوع البيانات</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>الجهاز</translation>
    </message>
</context>
<context>
    <name>mizan::gui::NoSplitPanel</name>
    <message>
        <source>Modules of a checked class are never split across devices. The model&apos;s defaults are in bold.</source>
        <translation>وحدات الصنف المحدَّد لا تُقسَّم أبدًا بين الأجهزة. الأصناف الافتراضية للنموذج بخط عريض.</translation>
    </message>
    <message>
        <source>Reset to the model&apos;s defaults</source>
        <translation>استعادة الإعدادات الافتراضية للنموذج</translation>
    </message>
    <message>
        <source>%1: a default no-split class of this architecture</source>
        <translation>%1: صنف افتراضي لا يُقسَّم في هذه البنية</translation>
    </message>
</context>
<context>
    <name>mizan::gui::PolicyPanel</name>
    <message>
        <source>%1 is in the list already.</source>
        <translation>%1 موجودة في القائمة من قبل.</translation>
    </message>
    <message>
        <source>Rules that place many modules at once, kept like pins and saved with the plan. Adding or removing one plans again.</source>
        <translation>قواعد تضع وحدات كثيرة دفعة واحدة، تُحترم كالتثبيتات وتُحفظ مع الخطة. إضافة قاعدة أو حذفها يعيد التخطيط.</translation>
    </message>
    <message>
        <source>Remove the selected policy</source>
        <translation>حذف السياسة المحددة</translation>
    </message>
    <message>
        <source>Add policy</source>
        <translation>إضافة سياسة</translation>
    </message>
    <message>
        <source>for example name:model.layers.*.mlp.experts=cpu</source>
        <translation>مثلًا name:model.layers.*.mlp.experts=cpu</translation>
    </message>
    <message>
        <source>Write SELECTOR=DEVICE, or SELECTOR!=DEVICE to keep it off a device. Selectors: experts (the experts of every mixture-of-experts block), experts:N (those of the first N blocks), embeddings, first:N (the first N blocks), class:CLASS, name:PATTERN (* any characters but a dot, ** any characters, ? one character, {0..3} a number from 0 to 3, {a,b} one of the words). Devices: 0, 1, …, cpu, disk. The more specific rule wins: first:4=0 with experts-on-cpu keeps blocks 0-3 on GPU 0 but their experts on the CPU.</source>
        <translation>اكتب ⁦SELECTOR=DEVICE⁩، أو ⁦SELECTOR!=DEVICE⁩ لإبعاد الوحدات عن جهاز. المحدِّدات: ⁦experts⁩ (خبراء كل كتلة من مزيج الخبراء)، و⁦experts:N⁩ (خبراء الكتل الأولى وعددها N)، و⁦embeddings⁩، و⁦first:N⁩ (الكتل الأولى وعددها N)، و⁦class:CLASS⁩، و⁦name:PATTERN⁩ (حيث ⁦*⁩ أي محارف عدا النقطة، و⁦**⁩ أي محارف، و⁦?⁩ محرف واحد، و⁦{0..3}⁩ عدد من 0 إلى 3، و⁦{a,b}⁩ إحدى الكلمتين). الأجهزة: 0 و1 و… و⁦cpu⁩ و⁦disk⁩. القاعدة الأخص هي الغالبة: ⁦first:4=0⁩ مع ⁦experts-on-cpu⁩ تُبقي الكتل ⁦0-3⁩ على معالج الرسوميات 0 وخبراءها على المعالج المركزي.</translation>
    </message>
    <message>
        <source>The experts of every mixture-of-experts block on the CPU; attention, router and norms stay on the GPUs (what llama.cpp&apos;s --n-cpu-moe and ktransformers do)</source>
        <translation>خبراء كل كتلة من مزيج الخبراء على المعالج المركزي، ويبقى الانتباه والموجِّه والتسويات على معالجات الرسوميات (كما يفعل الخيار --n-cpu-moe في llama.cpp، وktransformers)</translation>
    </message>
    <message>
        <source>The input embeddings on the CPU</source>
        <translation>تضمينات المدخلات على المعالج المركزي</translation>
    </message>
    <message>
        <source>SELECTOR=DEVICE or SELECTOR!=DEVICE, the selector being experts, experts:N, embeddings, first:N, class:CLASS or name:PATTERN</source>
        <translation>⁦SELECTOR=DEVICE⁩ أو ⁦SELECTOR!=DEVICE⁩، والمحدِّد أحد ⁦experts⁩ أو ⁦experts:N⁩ أو ⁦embeddings⁩ أو ⁦first:N⁩ أو ⁦class:CLASS⁩ أو ⁦name:PATTERN⁩</translation>
    </message>
    <message numerus="yes">
        <source>%Ln entries kept off %1 (%2)</source>
        <translation>
            <numerusform>لا إدخالات مُبعَدة عن %1 (%2)</numerusform>
            <numerusform>إدخال واحد مُبعَد عن %1 (%2)</numerusform>
            <numerusform>إدخالان مُبعَدان عن %1 (%2)</numerusform>
            <numerusform>%Ln إدخالات مُبعَدة عن %1 (%2)</numerusform>
            <numerusform>%Ln إدخالًا مُبعَدًا عن %1 (%2)</numerusform>
            <numerusform>%Ln إدخال مُبعَد عن %1 (%2)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln entries on %1 (%2)</source>
        <translation>
            <numerusform>لا إدخالات على %1 (%2)</numerusform>
            <numerusform>إدخال واحد على %1 (%2)</numerusform>
            <numerusform>إدخالان على %1 (%2)</numerusform>
            <numerusform>%Ln إدخالات على %1 (%2)</numerusform>
            <numerusform>%Ln إدخالًا على %1 (%2)</numerusform>
            <numerusform>%Ln إدخال على %1 (%2)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>splits %Ln blocks: the rest of each stays on one device</source>
        <translation>
            <numerusform>لا تقسم أي كتلة</numerusform>
            <numerusform>تقسم كتلة واحدة: يبقى باقيها على جهاز واحد</numerusform>
            <numerusform>تقسم كتلتين: يبقى باقي كل منهما على جهاز واحد</numerusform>
            <numerusform>تقسم %Ln كتل: يبقى باقي كل منها على جهاز واحد</numerusform>
            <numerusform>تقسم %Ln كتلة: يبقى باقي كل منها على جهاز واحد</numerusform>
            <numerusform>تقسم %Ln كتلة: يبقى باقي كل منها على جهاز واحد</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>mizan::gui::ProblemsPanel</name>
    <message>
        <source>Problems</source>
        <translation>المشكلات</translation>
    </message>
    <message>
        <source>Module</source>
        <translation>الوحدة</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>المشكلة</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>خطأ</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>تحذير</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>ملاحظة</translation>
    </message>
    <message>
        <source>The device map is valid.</source>
        <translation>خريطة الأجهزة صالحة.</translation>
    </message>
    <message>
        <source>, …</source>
        <translation>، …</translation>
    </message>
    <message>
        <source>%1 tensors missing from the checkpoint</source>
        <translation>موترات مفقودة من نقطة الحفظ (%1)</translation>
    </message>
    <message>
        <source>%1 tensors the architecture does not know</source>
        <translation>موترات لا تعرفها البنية (%1)</translation>
    </message>
    <message>
        <source>%1 shape mismatches</source>
        <translation>حالات عدم تطابق في الشكل (%1)</translation>
    </message>
    <message>
        <source>Error: %1</source>
        <translation>خطأ: %1</translation>
    </message>
    <message>
        <source>Warning: %1</source>
        <translation>تحذير: %1</translation>
    </message>
    <message>
        <source>Fix: %1</source>
        <translation>الحل: %1</translation>
    </message>
    <message>
        <source>%1 (%2, %3)</source>
        <translation>%1 (%2، %3)</translation>
    </message>
    <message numerus="yes">
        <source>%Ln error(s)</source>
        <translation>
            <numerusform>لا أخطاء</numerusform>
            <numerusform>خطأ واحد</numerusform>
            <numerusform>خطآن</numerusform>
            <numerusform>%Ln أخطاء</numerusform>
            <numerusform>%Ln خطأً</numerusform>
            <numerusform>%Ln خطأ</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln warning(s)</source>
        <translation>
            <numerusform>لا تحذيرات</numerusform>
            <numerusform>تحذير واحد</numerusform>
            <numerusform>تحذيران</numerusform>
            <numerusform>%Ln تحذيرات</numerusform>
            <numerusform>%Ln تحذيرًا</numerusform>
            <numerusform>%Ln تحذير</numerusform>
        </translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>Test inference failed: %1: %2</source>
        <translation>فشل الاستدلال التجريبي: %1: %2</translation>
    </message>
</context>
<context>
    <name>mizan::gui::StartPage</name>
    <message>
        <source>%1  —  %2 parameters</source>
        <translation>%1  —  %2 معامل</translation>
    </message>
    <message>
        <source>%1 (%2), from %3</source>
        <translation>%1 (%2)، المصدر: %3</translation>
    </message>
    <message>
        <source>Mizan</source>
        <translation>ميزان</translation>
    </message>
    <message>
        <source>Plan where every layer of a model goes when it does not fit on one GPU: open a checkpoint, set the memory of each device, and get a device map for transformers and Accelerate.</source>
        <translation>خطِّط أين تذهب كل طبقة من النموذج حين لا يتَّسع له معالج رسوميات واحد: افتح نقطة حفظ، وحدِّد ذاكرة كل جهاز، واحصل على خريطة أجهزة لمكتبتَي transformers وAccelerate.</translation>
    </message>
    <message>
        <source>Open checkpoint folder…</source>
        <translation>فتح مجلد نقطة حفظ…</translation>
    </message>
    <message>
        <source>Open file…</source>
        <translation>فتح ملف…</translation>
    </message>
    <message>
        <source>&lt;b&gt;Recent&lt;/b&gt;</source>
        <translation>&lt;b&gt;الملفات الحديثة&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;b&gt;Model presets&lt;/b&gt; (from config.json alone)</source>
        <translation>&lt;b&gt;نماذج جاهزة&lt;/b&gt; (من config.json وحده)</translation>
    </message>
    <message>
        <source>Or drop a folder, a .safetensors file, an index or a config.json here.</source>
        <translation>أو أفلِت هنا مجلدًا أو ملف safetensors أو فهرسًا أو ملف config.json.</translation>
    </message>
    <message>
        <source>%1 and %2 more</source>
        <translation>%1 و%2 أخرى</translation>
    </message>
    <message>
        <source>Links to missing blobs: %1</source>
        <translation>روابط إلى كتل (blobs) مفقودة: %1</translation>
    </message>
    <message>
        <source>Unreadable index: %1</source>
        <translation>فهرس تتعذر قراءته: %1</translation>
    </message>
    <message>
        <source>Missing shards: %1</source>
        <translation>أجزاء مفقودة: %1</translation>
    </message>
    <message>
        <source>No config.json</source>
        <translation>لا يوجد config.json</translation>
    </message>
    <message>
        <source>No weights (config.json only)</source>
        <translation>لا أوزان (config.json وحده)</translation>
    </message>
    <message>
        <source>Download in progress</source>
        <translation>تنزيل جارٍ</translation>
    </message>
    <message>
        <source>Looking for models in the Hugging Face cache…</source>
        <translation>البحث عن نماذج في ذاكرة Hugging Face المؤقتة…</translation>
    </message>
    <message>
        <source>in %1</source>
        <translation>في %1</translation>
    </message>
    <message>
        <source>No Hugging Face cache folder here (searched: %1).</source>
        <translation>لا يوجد هنا مجلد لذاكرة Hugging Face المؤقتة (بُحث في: %1).</translation>
    </message>
    <message>
        <source>No models in the Hugging Face cache (searched: %1).</source>
        <translation>لا نماذج في ذاكرة Hugging Face المؤقتة (بُحث في: %1).</translation>
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
        <translation>لا شيء</translation>
    </message>
    <message>
        <source>, </source>
        <translation>، </translation>
    </message>
    <message>
        <source>Complete</source>
        <translation>مكتمل</translation>
    </message>
    <message>
        <source>Double-click or press Enter to open this snapshot.</source>
        <translation>انقر نقرًا مزدوجًا أو اضغط Enter لفتح هذه اللقطة.</translation>
    </message>
    <message>
        <source>Incomplete: %1</source>
        <translation>غير مكتمل: %1</translation>
    </message>
    <message>
        <source>This snapshot cannot be opened: %1</source>
        <translation>لا يمكن فتح هذه اللقطة: %1</translation>
    </message>
    <message>
        <source>Select a complete snapshot to open it.</source>
        <translation>اختر لقطة مكتملة لفتحها.</translation>
    </message>
    <message>
        <source>Open %1</source>
        <translation>فتح %1</translation>
    </message>
    <message>
        <source>%1 (%2) cannot be opened: %3</source>
        <translation>لا يمكن فتح %1 (%2): %3</translation>
    </message>
    <message>
        <source>&lt;b&gt;Local models&lt;/b&gt; (Hugging Face cache)</source>
        <translation>&lt;b&gt;النماذج المحلية&lt;/b&gt; (ذاكرة Hugging Face المؤقتة)</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>تحديث</translation>
    </message>
    <message>
        <source>List the Hugging Face cache again</source>
        <translation>أعد قراءة محتويات ذاكرة Hugging Face المؤقتة</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>فتح</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>النموذج</translation>
    </message>
    <message>
        <source>Revision</source>
        <translation>المراجعة</translation>
    </message>
    <message>
        <source>Size on disk</source>
        <translation>الحجم على القرص</translation>
    </message>
    <message>
        <source>Formats</source>
        <translation>الصيغ</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>الحالة</translation>
    </message>
    <message>
        <source>Cannot list the Hugging Face cache: %1</source>
        <translation>تتعذر قراءة ذاكرة Hugging Face المؤقتة: %1</translation>
    </message>
</context>
<context>
    <name>mizan::gui::TestRunPanel</name>
    <message>
        <source>&amp;Prompt (token ids):</source>
        <translation>ال&amp;موجِّه (معرّفات الرموز):</translation>
    </message>
    <message>
        <source>The prompt&apos;s token ids, separated by commas or spaces</source>
        <translation>معرّفات رموز الموجِّه، تفصل بينها فواصل أو مسافات</translation>
    </message>
    <message>
        <source>&amp;Max new tokens:</source>
        <translation>أقصى عدد من الرموز ال&amp;جديدة:</translation>
    </message>
    <message>
        <source>Pre&amp;fetch:</source>
        <translation>الجلب ال&amp;مسبق:</translation>
    </message>
    <message>
        <source>Offloaded blocks brought in ahead while the current one computes (0: none)</source>
        <translation>الكتل المُفرَّغة التي تُجلب مسبقًا بينما تحسب الكتلة الحالية (0: لا شيء)</translation>
    </message>
    <message>
        <source>Simulated &amp;link:</source>
        <translation>ال&amp;وصلة المحاكاة:</translation>
    </message>
    <message>
        <source> GB/s</source>
        <translation> غيغابايت/ث</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>غير محدودة</translation>
    </message>
    <message>
        <source>Host-to-GPU bandwidth of the simulated GPUs, to preview a PCIe-limited offload</source>
        <translation>عرض النطاق من المضيف إلى وحدات GPU المحاكاة، لمعاينة تفريغ تحدّه وصلة PCIe</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;تشغيل</translation>
    </message>
    <message>
        <source>Run the plan on screen: generate tokens with the weights placed as planned</source>
        <translation>شغّل الخطة المعروضة: ولّد رموزًا والأوزان موضوعة كما في الخطة</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Generated token ids</source>
        <translation>معرّفات الرموز المولَّدة</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a token id (a whole number, 0 or more).</source>
        <translation>«%1» ليس معرّف رمز (عدد صحيح، 0 أو أكثر).</translation>
    </message>
    <message>
        <source>Type the prompt&apos;s token ids, e.g. 1, 2, 3.</source>
        <translation>اكتب معرّفات رموز الموجِّه، مثل 1، 2، 3.</translation>
    </message>
    <message>
        <source>Ready: Run generates with the weights placed as planned.</source>
        <translation>جاهز: «تشغيل» يولّد والأوزان موضوعة كما في الخطة.</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>البدء…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>الإلغاء…</translation>
    </message>
    <message>
        <source>%1 %2 of %3 tokens</source>
        <translation>%1 ‏%2 من %3 رمزًا</translation>
    </message>
    <message>
        <source>Prefill %1 ms</source>
        <translation>الملء المسبق %1 مللي ثانية</translation>
    </message>
    <message>
        <source>%1 ms/token</source>
        <translation>%1 مللي ثانية/رمز</translation>
    </message>
    <message>
        <source>%1 tokens/s</source>
        <translation>%1 رمز/ث</translation>
    </message>
    <message>
        <source>No tokens yet.</source>
        <translation>لا رموز بعد.</translation>
    </message>
    <message>
        <source> · </source>
        <translation> · </translation>
    </message>
    <message>
        <source>The run failed: %1: %2</source>
        <translation>فشل التشغيل: %1: %2</translation>
    </message>
    <message numerus="yes">
        <source>Cancelled after %Ln token(s).</source>
        <translation>
            <numerusform>أُلغي بعد %Ln من الرموز.</numerusform>
            <numerusform>أُلغي بعد رمز واحد (%Ln).</numerusform>
            <numerusform>أُلغي بعد رمزين (%Ln).</numerusform>
            <numerusform>أُلغي بعد %Ln رموز.</numerusform>
            <numerusform>أُلغي بعد %Ln رمزًا.</numerusform>
            <numerusform>أُلغي بعد %Ln رمز.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Done: %Ln token(s) generated; the weights were in place after %1 s.</source>
        <translation>
            <numerusform>تم: وُلِّد %Ln من الرموز؛ كانت الأوزان في أماكنها بعد %1 ث.</numerusform>
            <numerusform>تم: وُلِّد رمز واحد (%Ln)؛ كانت الأوزان في أماكنها بعد %1 ث.</numerusform>
            <numerusform>تم: وُلِّد رمزان (%Ln)؛ كانت الأوزان في أماكنها بعد %1 ث.</numerusform>
            <numerusform>تم: وُلِّدت %Ln رموز؛ كانت الأوزان في أماكنها بعد %1 ث.</numerusform>
            <numerusform>تم: وُلِّد %Ln رمزًا؛ كانت الأوزان في أماكنها بعد %1 ث.</numerusform>
            <numerusform>تم: وُلِّد %Ln رمز؛ كانت الأوزان في أماكنها بعد %1 ث.</numerusform>
        </translation>
    </message>
    <message>
        <source>Opening the checkpoint…</source>
        <translation>فتح نقطة الحفظ…</translation>
    </message>
    <message>
        <source>Writing the offload folder…</source>
        <translation>كتابة مجلد التفريغ…</translation>
    </message>
    <message>
        <source>Loading the weights…</source>
        <translation>تحميل الأوزان…</translation>
    </message>
    <message>
        <source>Reading the prompt…</source>
        <translation>قراءة الموجِّه…</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>التوليد…</translation>
    </message>
    <message>
        <source>&amp;Prompt:</source>
        <translation>ال&amp;موجِّه:</translation>
    </message>
    <message>
        <source>The prompt, encoded with the model&apos;s tokenizer (%1)</source>
        <translation>الموجِّه، مُرمَّزًا بمُقسِّم الرموز الخاص بالنموذج (%1)</translation>
    </message>
    <message>
        <source>The prompt&apos;s token ids, separated by commas or spaces. The tokenizer could not be read: %1</source>
        <translation>معرّفات رموز الموجِّه، مفصولة بفواصل أو مسافات. تعذّرت قراءة مُقسِّم الرموز: %1</translation>
    </message>
    <message>
        <source>Generated text</source>
        <translation>النص المُولَّد</translation>
    </message>
    <message>
        <source>Write a prompt first.</source>
        <translation>اكتب موجِّهًا أولًا.</translation>
    </message>
    <message>
        <source>The tokenizer does not fit this model: it gives token %1, beyond the model&apos;s %2 embeddings.</source>
        <translation>مُقسِّم الرموز لا يناسب هذا النموذج: يعطي الرمز %1، وهو خارج تضمينات النموذج البالغ عددها %2.</translation>
    </message>
    <message>
        <source>The prompt encodes to no tokens.</source>
        <translation>الموجِّه لا يُرمَّز إلى أي رمز.</translation>
    </message>
</context>
</TS>
