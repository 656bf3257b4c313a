"""The terms and conditions of SMB Select Premier, in Turkish.

An acceptance pins the SHA-256 of this exact text: changing a single character asks every
partner who accepted it to accept again. Bump VERSION with every change of TEXT.
"""

from __future__ import annotations

VERSION = "2026-tr-1"
LOCALE = "tr"

TEXT = """\
SMB Select Premier İş Ortaklığı Programı: Hüküm ve Koşullar (sürüm 2026-tr-1)

Bu hüküm ve koşullar, program işleticisi ile bunları kabul eden iş ortağı şirket \
lokasyonu ("İş Ortağı") arasında geçerlidir. İş Ortağı'nın başvurusunun onaylandığı \
günden katılımın 8. madde uyarınca sona erdiği güne kadar uygulanır.

1. Katılım
1.1 Programa katılım yalnızca davetle mümkündür ve başvuruda adı geçen lokasyon için \
geçerlidir. Katılım başka bir lokasyona, şirkete veya kişiye devredilemez.
1.2 Program işleticisi başvuruyu kendi takdirine göre onaylayabilir veya reddedebilir; \
karar vermeden önce başvuruda değişiklik yapılmasını isteyebilir.

2. Belgeler
2.1 İş Ortağı, başvurusuyla birlikte güncel ticaret sicili kayıt belgesini ve imzalı iş \
ortaklığı sözleşmesini PDF biçiminde yükler.
2.2 Bu belgelerdeki bilgiler (unvan, adres, yetkili kişiler) değiştiğinde İş Ortağı, \
güncel belgeyi 30 gün içinde program işleticisine iletir.

3. Sertifikalı personel
3.1 İş Ortağı, lokasyonda çalışan ve geçerli bir CSE sertifikasına sahip iki ayrı kişiyi \
Satış Mühendisi olarak bildirir. CSA sertifikası bu rol için yeterli değildir. Bir kişi \
başvuruda en fazla bir rol üstlenebilir.
3.2 İş Ortağı, katılımı süresince bu sertifikaların geçerliliğini korur. Bildirilen bir \
kişi lokasyondan ayrıldığında veya sertifikasının süresi dolduğunda İş Ortağı bunu 30 gün \
içinde program işleticisine bildirir ve 90 gün içinde nitelikli bir kişiyi yerine atar.

4. İş Ortağı'nın yükümlülükleri
4.1 İş Ortağı, programın ürünlerini doğru biçimde tanıtır, bunları yalnızca ticari \
müşterilere satar ve programın adını ve logosunu yalnızca yürürlükteki marka kurallarının \
izin verdiği ölçüde kullanır.
4.2 İş Ortağı, SMB Select Premier müşterilerine olağan çalışma saatleri içinde Türkçe \
birinci seviye destek sağlar; çözemediği sorunları programın destek kanalı aracılığıyla \
iletir.
4.3 İş Ortağı, ihracat kontrolü, rüşvetle mücadele ve rekabet mevzuatı dahil olmak üzere \
yürürlükteki tüm mevzuata uyar ve iş elde etmek için hiçbir kimseye haksız bir menfaat \
sağlamaz veya bu amaçla menfaat kabul etmez.

5. Program avantajları
5.1 Program işleticisi, yürürlükteki program rehberinde açıklandığı şekilde İş Ortağı'na \
Premier fiyatlarına, satış fırsatlarına, demo ekipmanına ve öncelikli teknik desteğe \
erişim sağlar. Avantajlar 60 gün önceden bildirilmek kaydıyla değiştirilebilir.
5.2 Satış fırsatları iyi niyetle sunulur; herhangi bir satış veya ciro garantisi \
içermez.

6. Kişisel verilerin korunması
6.1 Taraflar, birbirlerinden aldıkları kişisel verileri yalnızca program amacıyla ve \
6698 sayılı Kişisel Verilerin Korunması Kanunu ile, uygulandığı hallerde AB Genel Veri \
Koruma Tüzüğü (GDPR) dahil olmak üzere yürürlükteki veri koruma mevzuatına uygun olarak \
işler.
6.2 İş Ortağı, başvuruda adını bildirdiği kişileri; adlarının, iletişim bilgilerinin ve \
sertifikalarının program amacıyla program işleticisiyle paylaşıldığı konusunda \
aydınlattığını beyan eder.
6.3 Taraflar kişisel verileri korumak için uygun teknik ve idari tedbirleri alır ve \
diğer taraftan alınan verileri etkileyen bir ihlali gecikmeksizin birbirine bildirir.

7. Gizlilik
7.1 Program fiyatları, satış fırsatları ve gizli olarak işaretlenen tüm bilgiler, katılım \
süresince ve katılımın sona ermesinden sonraki üç yıl boyunca İş Ortağı tarafından gizli \
tutulur.

8. Süre ve fesih
8.1 Taraflardan her biri, 90 gün önceden yazılı bildirimde bulunarak katılımı sona \
erdirebilir.
8.2 İş Ortağı bu koşulları ağır biçimde ihlal ederse, başka bir ihlali kendisine \
bildirilmesinden itibaren 30 gün içinde gidermezse veya 3.2 maddesindeki süre sonunda \
lokasyonda iki nitelikli Satış Mühendisi bulunmazsa, program işleticisi katılımı derhal \
sona erdirebilir.
8.3 Katılım sona erdiğinde İş Ortağı kendisini SMB Select Premier iş ortağı olarak \
tanıtmayı bırakır ve programın gizli bilgilerini iade eder veya imha eder.

9. Genel hükümler
9.1 Program işleticisi bu koşulları yeni bir sürüm yayımlayarak değiştirebilir. İş \
Ortağı'ndan yeni sürümü kabul etmesi istenir; yeni sürüm 60 gün içinde kabul edilmezse \
eski sürüme dayalı katılım sona erer.
9.2 Bu koşullar Türkiye Cumhuriyeti hukukuna tabidir. Bu koşullardan doğan \
uyuşmazlıklarda İstanbul (Çağlayan) Mahkemeleri ve İcra Daireleri yetkilidir.
9.3 Bu koşullar program hakkındaki anlaşmanın tamamını oluşturur ve önceki tüm \
mutabakatların yerine geçer. Bir maddenin geçersiz olması diğer maddelerin geçerliliğini \
etkilemez.
"""
