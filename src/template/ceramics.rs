//! The templates the node ships with, under its node prefix: the daily-use ceramics product record of
//! domain.md and the production batch (生产批次) its products reference, both published. The regional brand's
//! standards named by the city (日用硬质瓷器, 玲珑瓷, 釉下青花, 粉彩硬质瓷, 颜色釉之青白釉) are values of 执行标准,
//! and the decorations they standardize values of 装饰工艺.

use super::{Item, Schema, Template};

/// Version of the product template.
pub const PRODUCT_VERSION: &str = "ceramic-product-1.0";
/// Version of the batch template.
pub const BATCH_VERSION: &str = "ceramic-batch-1.0";

/// Standards a piece may follow (执行标准): the city's regional ones first, then the national ones.
pub const STANDARDS: [&str; 7] = [
    "日用硬质瓷器",
    "玲珑瓷",
    "釉下青花",
    "粉彩硬质瓷",
    "颜色釉之青白釉",
    "GB/T 3532-2022 日用瓷器",
    "GB 4806.4-2016 陶瓷制品",
];
/// Decorations (装饰工艺).
pub const DECORATIONS: [&str; 11] =
    ["釉下青花", "玲珑", "青花玲珑", "粉彩", "颜色釉", "颜色釉之青白釉", "釉下彩", "釉上彩", "釉中彩", "新彩", "手绘"];
/// Product categories (品类).
pub const CATEGORIES: [&str; 4] = ["日用瓷", "陈设艺术瓷", "建筑卫生陶瓷", "特种陶瓷"];
/// Forming techniques (成型工艺).
pub const FORMING: [&str; 5] = ["拉坯", "注浆", "滚压", "印坯", "手工"];
/// Kilns (窑炉).
pub const KILNS: [&str; 3] = ["柴窑", "气窑", "电窑"];

/// The identifier of the product template under `node_prefix`.
pub fn product_handle(node_prefix: &str) -> String {
    format!("{node_prefix}/TPL-CERAMIC-PRODUCT")
}

/// The identifier of the batch template under `node_prefix`.
pub fn batch_handle(node_prefix: &str) -> String {
    format!("{node_prefix}/TPL-CERAMIC-BATCH")
}

fn text(max: u32) -> Schema {
    Schema::String { min_length: None, max_length: Some(max) }
}

fn one_of(values: &[&str]) -> Schema {
    Schema::Enumeration { values: values.iter().map(|v| (*v).to_owned()).collect() }
}

fn item(index: u32, id_type: &str, name: &str, required: bool, metadata: Schema) -> Item {
    Item { name: name.into(), id_type: id_type.into(), id_index: index, required, state: 1, metadata }
}

fn ceramics(node_prefix: &str, version: &str, handle: String, description: &str, items: Vec<Item>) -> Template {
    Template {
        prefix: node_prefix.into(),
        version: version.into(),
        description: description.into(),
        industry_category: "C".into(),
        industry_specific: "30".into(),
        industry_trade: "307".into(),
        industry_subclass: "3074".into(),
        carrier: 1,
        handle,
        items,
        published: true,
    }
}

/// The daily-use ceramics product record (日用陶瓷产品).
pub fn product(node_prefix: &str) -> Template {
    let uscc = Schema::String { min_length: Some(18), max_length: Some(18) };
    let celsius = Schema::Number { minimum: Some(600.0), maximum: Some(1500.0), integer: false };
    let batch = Schema::Reference { prefix: Some(node_prefix.into()) };
    let items = vec![
        item(2000, "productName", "产品名称", true, Schema::String { min_length: Some(1), max_length: Some(100) }),
        item(2001, "category", "品类", false, one_of(&CATEGORIES)),
        item(2002, "decoration", "装饰工艺", false, one_of(&DECORATIONS)),
        item(2003, "shape", "器型", false, text(20)),
        item(2004, "glaze", "釉色", false, text(50)),
        item(2005, "bodyMaterial", "胎料", false, text(50)),
        item(2006, "forming", "成型工艺", false, one_of(&FORMING)),
        item(2007, "kiln", "窑炉", false, one_of(&KILNS)),
        item(2008, "firingTemperature", "烧成温度", false, celsius),
        item(2009, "firingDate", "烧成日期", false, Schema::Date),
        item(2010, "batchNo", "生产批次", false, text(64)),
        item(2011, "artisan", "作者", false, text(50)),
        item(2012, "manufacturer", "生产企业", true, Schema::String { min_length: Some(1), max_length: Some(100) }),
        item(2013, "uscc", "统一社会信用代码", false, uscc),
        item(2014, "origin", "产地", false, text(100)),
        item(2015, "standard", "执行标准", false, one_of(&STANDARDS)),
        item(2016, "brandCertificate", "\"景德镇制\"认证编号", false, text(64)),
        item(2017, "copyrightRegNo", "版权登记号", false, text(64)),
        item(2018, "leadCadmiumRelease", "铅镉溶出量", false, text(100)),
        item(2019, "qcReport", "质检报告", false, Schema::Url),
        item(2020, "batchId", "关联批次标识", false, batch),
    ];
    ceramics(
        node_prefix,
        PRODUCT_VERSION,
        product_handle(node_prefix),
        "日用陶瓷产品 (daily-use ceramics product)",
        items,
    )
}

/// The production batch (生产批次) that product records reference at index 2020.
pub fn batch(node_prefix: &str) -> Template {
    let uscc = Schema::String { min_length: Some(18), max_length: Some(18) };
    let celsius = Schema::Number { minimum: Some(600.0), maximum: Some(1500.0), integer: false };
    let quantity = Schema::Number { minimum: Some(1.0), maximum: None, integer: true };
    let items = vec![
        item(2000, "batchNo", "批次号", true, Schema::String { min_length: Some(1), max_length: Some(64) }),
        item(2001, "manufacturer", "生产企业", true, Schema::String { min_length: Some(1), max_length: Some(100) }),
        item(2002, "uscc", "统一社会信用代码", false, uscc),
        item(2003, "productionDate", "生产日期", true, Schema::Date),
        item(2004, "kiln", "窑炉", false, one_of(&KILNS)),
        item(2005, "firingTemperature", "烧成温度", false, celsius),
        item(2006, "quantity", "数量", false, quantity),
        item(2007, "standard", "执行标准", false, one_of(&STANDARDS)),
        item(2008, "inspectionResult", "检验结论", false, one_of(&["合格", "不合格"])),
        item(2009, "qcReport", "质检报告", false, Schema::Url),
        item(2010, "leadCadmiumRelease", "铅镉溶出量", false, text(100)),
    ];
    ceramics(node_prefix, BATCH_VERSION, batch_handle(node_prefix), "陶瓷生产批次 (ceramics production batch)", items)
}

/// Every template the node ships with, under `node_prefix`.
pub fn all(node_prefix: &str) -> Vec<Template> {
    vec![product(node_prefix), batch(node_prefix)]
}
