// Chinese names for the data set's English dimension values; unknown names show as sent.

const ZH: Record<string, Record<string, string>> = {
  district: {
    "Bao'an": '宝安',
    Longgang: '龙岗',
    Luohu: '罗湖',
    Nanshan: '南山',
    Futian: '福田',
    Longhua: '龙华',
    Guangming: '光明',
    Pingshan: '坪山',
    Yantian: '盐田',
    Dapeng: '大鹏',
  },
  category: {
    clothing: '服饰',
    jewellery: '珠宝',
    electronics: '数码',
    eyewear: '眼镜',
    beauty: '美妆',
    home: '家居',
    food: '食品',
  },
  platform: {
    douyin: '抖音',
    taobao: '淘宝',
    kuaishou: '快手',
    jd: '京东',
    wechat: '视频号',
    xiaohongshu: '小红书',
    pinduoduo: '拼多多',
  },
  city: {
    Shenzhen: '深圳',
    Guangzhou: '广州',
    Beijing: '北京',
    Shanghai: '上海',
    Hangzhou: '杭州',
    Chengdu: '成都',
    Wuhan: '武汉',
    Chongqing: '重庆',
    "Xi'an": '西安',
    Nanjing: '南京',
    Tianjin: '天津',
    Suzhou: '苏州',
    Changsha: '长沙',
    Dongguan: '东莞',
    Foshan: '佛山',
    Xiamen: '厦门',
    Zhengzhou: '郑州',
    Qingdao: '青岛',
    Hefei: '合肥',
    Ningbo: '宁波',
    Jinan: '济南',
    Shenyang: '沈阳',
    Kunming: '昆明',
    Fuzhou: '福州',
    Yiwu: '义乌',
    Linyi: '临沂',
  },
};

/** [main label, English subtitle or '']: the Chinese name over the sent one when known. */
export function label(dim: string, name: string): [string, string] {
  const zh = ZH[dim]?.[name];
  return zh ? [zh, name] : [name, ''];
}
